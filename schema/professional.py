"""Professional: type, inputs, payload, queries and mutations."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models, professionals
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import parties
from resolvers import professional as resolve
from resolvers.context import Info
from schema.common import Connection, Node, UserError
from schema.leaderboard import LeaderboardMetric

if TYPE_CHECKING:
    from schema.integrity import RiskAssessment
    from schema.job import JobConnection
    from schema.leaderboard import LeaderboardEntry
    from schema.measurement import ReferralFunnel
    from schema.network import Network
    from schema.partners import PartnerRecommendation
    from schema.programs import RewardProgram
    from schema.reciprocity import MonthBalance, ReciprocityBalance
    from schema.referral import ReferralConnection, ReferralStatus


@strawberry.type
class Professional(Node):
    id: strawberry.ID
    name: str
    trades: list[str] = strawberry.field(
        description='Normalised trade names (lowercase, trimmed), e.g. ["plumbing", "heating"].'
    )
    area: str | None
    created_at: datetime
    reputation: float = strawberry.field(
        description="In [0, 1]: standing in the referral graph (PageRank-style), higher is better."
    )

    @classmethod
    def from_model(cls, m: models.Professional) -> Professional:
        return cls(
            id=strawberry.ID(m.id), name=m.name, trades=m.trades, area=m.area,
            created_at=m.created_at, reputation=m.reputation,
        )

    @classmethod
    async def related(cls, info: Info, professional_id: str) -> Professional:
        """The professional another object names (a job, a referral, a balance, a pair)."""
        return cls.from_model(await parties.professional(info, professional_id))

    @classmethod
    def related_now(
        cls, info: Info, professional_id: str
    ) -> Professional | Awaitable[Professional]:
        """Like ``related``, at once when the request already holds the professional (GraphQL
        awaits what a field returns only when it is awaitable)."""
        found = parties.in_hand(info, professional_id)
        if isinstance(found, models.Professional):
            return cls.from_model(found)
        return cls.related(info, professional_id)

    @strawberry.field
    async def networks(
        self, info: Info
    ) -> list[Annotated[Network, strawberry.lazy("schema.network")]]:
        from schema.network import Network

        return [Network.from_model(n) for n in await resolve.networks(info, self.id)]

    @strawberry.field
    async def jobs(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[JobConnection, strawberry.lazy("schema.job")]:
        from schema.job import JobConnection

        return JobConnection.wrap(await resolve.jobs(info, self.id, first, after))

    @strawberry.field(description="Its reward programs, ended ones included (any signed-in "
                      "party: they are an offer to referrers).")
    async def reward_programs(
        self, info: Info
    ) -> list[Annotated[RewardProgram, strawberry.lazy("schema.programs")]]:
        from resolvers import programs
        from schema.programs import programs_field

        return programs_field(await programs.programs_of(info, self.id))

    @strawberry.field(description="Referrals naming this professional.")
    async def referrals_received(
        self,
        info: Info,
        status: Annotated[ReferralStatus, strawberry.lazy("schema.referral")] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Annotated[ReferralConnection, strawberry.lazy("schema.referral")]:
        from schema.referral import ReferralConnection

        return ReferralConnection.wrap(
            await resolve.referrals(info, "received", self.id, status, first, after))

    @strawberry.field(description="Referrals this professional made for someone else.")
    async def referrals_given(
        self,
        info: Info,
        status: Annotated[ReferralStatus, strawberry.lazy("schema.referral")] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Annotated[ReferralConnection, strawberry.lazy("schema.referral")]:
        from schema.referral import ReferralConnection

        return ReferralConnection.wrap(
            await resolve.referrals(info, "given", self.id, status, first, after))

    @strawberry.field(description="Professionals in other trades worth partnering with. Never "
                      "self, never a current partner (a referral either way), never the same "
                      "trade unless includeSameTrade.")
    async def partner_recommendations(
        self, info: Info, limit: int | None = 10, include_same_trade: bool | None = False
    ) -> list[Annotated[PartnerRecommendation, strawberry.lazy("schema.partners")]]:
        from resolvers import partners
        from schema.partners import PartnerRecommendation

        found = await partners.recommendations(info, self.id, limit, include_same_trade)
        return [PartnerRecommendation.of(r) for r in found]

    @strawberry.field(description="Referrals with createdAt in [since, until) only, when given.")
    async def reciprocity(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> Annotated[ReciprocityBalance, strawberry.lazy("schema.reciprocity")]:
        from resolvers import reciprocity
        from schema.reciprocity import ReciprocityBalance

        return ReciprocityBalance.of(await reciprocity.balance(info, self.id, since, until))

    @strawberry.field(description="Admins, and organisers of networks it is an active member "
                      "of, only.")
    async def risk(
        self, info: Info
    ) -> Annotated[RiskAssessment, strawberry.lazy("schema.integrity")]:
        from resolvers import integrity
        from schema.integrity import RiskAssessment

        return RiskAssessment.of(await integrity.professional_risk(info, self.id))

    @strawberry.field(description="The last `months` calendar months up to and including the "
                      "current one, oldest first.")
    async def reciprocity_trend(
        self, info: Info, months: int | None = 12
    ) -> list[Annotated[MonthBalance, strawberry.lazy("schema.reciprocity")]]:
        from resolvers import reciprocity
        from schema.reciprocity import MonthBalance

        return [MonthBalance.of(m) for m in await reciprocity.trend(info, self.id, months)]

    @strawberry.field(description="Who sends it the most, in [since, until); customers appear by "
                      "display name.")
    async def top_referrers(
        self, info: Info, metric: LeaderboardMetric | None = LeaderboardMetric.CONVERSIONS,
        since: datetime | None = None, until: datetime | None = None, limit: int | None = 10,
    ) -> list[Annotated[LeaderboardEntry, strawberry.lazy("schema.leaderboard")]]:
        from schema.leaderboard import top_referrers

        return await top_referrers(info, self.id, metric, since, until, limit)

    @strawberry.field(description="Referrals naming it, created in [since, until). The "
                      "professional itself, organisers of its networks (active member), admins.")
    async def referral_funnel(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> Annotated[ReferralFunnel, strawberry.lazy("schema.measurement")]:
        from schema.measurement import professional_funnel

        return await professional_funnel(info, self.id, since, until)


@strawberry.type
class ProfessionalConnection(Connection[Professional]):
    @classmethod
    def wrap(cls, page: Page[models.Professional]) -> ProfessionalConnection:
        return cls.of(page, Professional.from_model)


@strawberry.input
class CreateProfessionalInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Optional client id (with its pro_ prefix) for idempotent retries and imports.",
    )
    name: str
    trades: list[str]
    area: str | None = None

    def domain(self) -> professionals.NewProfessional:
        return professionals.NewProfessional(
            name=self.name, trades=self.trades, area=self.area, id=self.id
        )


@strawberry.type
class ProfessionalPayload:
    professional: Professional | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[models.Professional]) -> ProfessionalPayload:
        p = outcome.value
        return cls(professional=None if p is None else Professional.from_model(p),
                   errors=UserError.all(outcome))


@strawberry.type
class ProfessionalQuery:
    @strawberry.field
    async def professional(self, info: Info, id: strawberry.ID) -> Professional | None:
        found = await resolve.professional(info, id)
        return None if found is None else Professional.from_model(found)

    @strawberry.field
    async def professionals(
        self,
        info: Info,
        trade: str | None = None,
        area: str | None = None,
        network_id: strawberry.ID | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> ProfessionalConnection:
        return ProfessionalConnection.wrap(
            await resolve.list_professionals(info, trade, area, network_id, first, after))


@strawberry.type
class ProfessionalMutation:
    @strawberry.mutation
    async def create_professional(
        self, info: Info, input: CreateProfessionalInput
    ) -> ProfessionalPayload:
        return ProfessionalPayload.of(await resolve.create_professional(info, input.domain()))
