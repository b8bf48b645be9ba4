"""Reciprocity: balances of professionals and networks, pair by pair and month by month."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph import reciprocity as graph_reciprocity
from graph.algorithms.reciprocity import Balance, PairGap
from resolvers.context import Info
from schema.professional import Professional

LazyProfessional = Annotated["Professional", strawberry.lazy("schema.professional")]


@strawberry.type(description="Counts only referrals between two professionals (customers' "
                 "referrals are advocacy, not reciprocity).")
class PartnerBalance:
    given: int
    received: int
    balance: int = strawberry.field(description="given - received")
    partner_id: strawberry.Private[str]

    @strawberry.field
    async def partner(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await Professional.related(info, self.partner_id)


@strawberry.type
class ReciprocityBalance:
    given: int = strawberry.field(
        description="Referrals this professional made that name another professional.")
    received: int = strawberry.field(
        description="Referrals naming this professional made by other professionals.")
    balance: int
    converted_given: int
    converted_received: int
    value_given: float = strawberry.field(
        description="Sum of job value of converted referrals given / received.")
    value_received: float
    partners: list[PartnerBalance] = strawberry.field(
        description="One row per counterpart, largest |balance| first.")

    @classmethod
    def of(cls, b: graph_reciprocity.ProfessionalBalance) -> ReciprocityBalance:
        return cls(
            given=b.given, received=b.received, balance=b.balance,
            converted_given=b.converted_given, converted_received=b.converted_received,
            value_given=b.value_given, value_received=b.value_received,
            partners=[PartnerBalance(given=p.given, received=p.received, balance=p.balance,
                                     partner_id=str(p.member)) for p in b.partners],
        )


@strawberry.type
class MemberBalance:
    given: int
    received: int
    balance: int
    member_id: strawberry.Private[str]

    @classmethod
    def of(cls, b: Balance) -> MemberBalance:
        return cls(given=b.given, received=b.received, balance=b.balance,
                   member_id=str(b.member))

    @strawberry.field
    async def professional(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await Professional.related(info, self.member_id)


@strawberry.type
class NetworkReciprocity:
    referrals: int = strawberry.field(description="Referrals between two members of the network.")
    coefficient: float = strawberry.field(
        description="Share of ordered member pairs (a referred b) whose reverse pair also "
        "exists; 0 when there are none.")
    result: strawberry.Private[graph_reciprocity.NetworkReciprocity]

    @classmethod
    def of(cls, result: graph_reciprocity.NetworkReciprocity) -> NetworkReciprocity:
        return cls(referrals=result.referrals, coefficient=result.coefficient, result=result)

    def _members(self, limit: int | None, givers: bool) -> list[MemberBalance]:
        top, bottom = self.result.givers_and_takers(5 if limit is None else limit)
        return [MemberBalance.of(b) for b in (top if givers else bottom)]

    @strawberry.field(description="Members with their balance counted on referrals between "
                      "members only: highest first (givers); ties by professional id.")
    def givers(self, limit: int | None = 5) -> list[MemberBalance]:
        return self._members(limit, givers=True)

    @strawberry.field(description="Members by balance, lowest first (takers); ties by "
                      "professional id.")
    def takers(self, limit: int | None = 5) -> list[MemberBalance]:
        return self._members(limit, givers=False)


@strawberry.type(description="One calendar month of a member's professional-to-professional "
                 "referrals.")
class MonthBalance:
    month: str = strawberry.field(description="YYYY-MM")
    given: int
    received: int
    balance: int

    @classmethod
    def of(cls, m: Balance) -> MonthBalance:
        return cls(month=str(m.member), given=m.given, received=m.received, balance=m.balance)


@strawberry.type
class PairImbalance:
    a_to_b: int
    b_to_a: int
    gap: int = strawberry.field(description="aToB - bToA")
    a_id: strawberry.Private[str]
    b_id: strawberry.Private[str]

    @classmethod
    def of(cls, p: PairGap) -> PairImbalance:
        return cls(a_to_b=p.a_to_b, b_to_a=p.b_to_a, gap=p.gap, a_id=str(p.a), b_id=str(p.b))

    @strawberry.field(description="The member who gave more.")
    async def a(self, info: Info) -> LazyProfessional:
        return await Professional.related(info, self.a_id)

    @strawberry.field
    async def b(self, info: Info) -> LazyProfessional:
        return await Professional.related(info, self.b_id)
