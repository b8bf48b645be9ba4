"""Partners and gaps: recommendations, network gaps, and the analytics refresh."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import partners as graph_partners
from resolvers import partners as resolve
from resolvers.context import Info

if TYPE_CHECKING:
    from schema.professional import Professional

LazyProfessional = Annotated["Professional", strawberry.lazy("schema.professional")]


@strawberry.type
class PartnerRecommendation:
    score: float = strawberry.field(description="In [0, 1], higher is better.")
    shared_customers: int = strawberry.field(description="Customers that both have served.")
    reasons: list[str] = strawberry.field(
        description="Human-readable reasons, most important first.")
    partner_id: strawberry.Private[str]

    @strawberry.field
    async def partner(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await resolve.professional(info, self.partner_id)


@strawberry.type
class TradeGap:
    trade: str
    demand: int = strawberry.field(description="Distinct customers of network members who "
                                   "hired a non-member for this trade.")
    candidate_ids: strawberry.Private[list[str]]

    @strawberry.field(description="Non-members offering the trade, best candidates first.")
    async def candidates(
        self, info: Info, limit: int | None = 5
    ) -> list[Annotated[Professional, strawberry.lazy("schema.professional")]]:
        return await resolve.professionals(info, self.candidate_ids[: 5 if limit is None
                                                                    else limit])


@strawberry.type
class MemberPair:
    score: float
    a_id: strawberry.Private[str]
    b_id: strawberry.Private[str]

    @strawberry.field
    async def a(self, info: Info) -> LazyProfessional:
        return await resolve.professional(info, self.a_id)

    @strawberry.field
    async def b(self, info: Info) -> LazyProfessional:
        return await resolve.professional(info, self.b_id)


@strawberry.type
class NetworkGaps:
    missing_trades: list[TradeGap] = strawberry.field(
        description="Trades no member offers, by demand, highest first.")
    passive_members_ids: strawberry.Private[list[str]]
    top_referrer_share: float = strawberry.field(
        description="Share of in-network referrals made by the single most active referrer; 0 "
        "when none.")
    result: strawberry.Private[graph_partners.NetworkGaps]

    @strawberry.field(description="Members in complementary trades with no referral either "
                      "way, best first.")
    def unconnected_pairs(self, limit: int | None = 10) -> list[MemberPair]:
        pairs = self.result.unconnected_pairs[: 10 if limit is None else limit]
        return [MemberPair(score=s, a_id=a, b_id=b) for a, b, s in pairs]

    @strawberry.field(description="Members who gave no referral to another member in the "
                      "window.")
    async def passive_members(
        self, info: Info
    ) -> list[Annotated[Professional, strawberry.lazy("schema.professional")]]:
        return await resolve.professionals(info, self.passive_members_ids)


@strawberry.type
class AnalyticsRefresh:
    professionals: int
    trades: int
    seconds: float
    finished_at: datetime = strawberry.field(
        description="When the refresh these figures describe finished.")


@strawberry.type
class PartnersMutation:
    @strawberry.mutation(description="Recomputes reputation and trade complementarity now "
                         "(admin only); they are also refreshed automatically. At most one "
                         "refresh runs at a time across all service processes: a call while "
                         "one runs joins it and answers when it has finished, bounded by "
                         "RG_ANALYTICS_TIMEOUT, not by the request timeout.")
    async def refresh_analytics(self, info: Info) -> AnalyticsRefresh:
        return await resolve.refresh(info)
