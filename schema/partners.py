"""Partners and gaps: recommendations, network gaps, and the analytics refresh."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from graph import analytics
from graph import partners as graph_partners
from resolvers import parties
from resolvers import partners as resolve
from resolvers.context import Info
from schema.professional import Professional

LazyProfessional = Annotated["Professional", strawberry.lazy("schema.professional")]


async def _professionals(info: Info, ids: list[str]) -> list[Professional]:
    return [Professional.from_model(p) for p in await parties.professionals(info, ids)]


@strawberry.type
class PartnerRecommendation:
    score: float = strawberry.field(description="In [0, 1], higher is better.")
    shared_customers: int = strawberry.field(description="Customers that both have served.")
    reasons: list[str] = strawberry.field(
        description="Human-readable reasons, most important first.")
    partner_id: strawberry.Private[str]

    @classmethod
    def of(cls, r: graph_partners.Recommendation) -> PartnerRecommendation:
        return cls(score=r.score, shared_customers=r.shared_customers, reasons=r.reasons,
                   partner_id=r.partner_id)

    @strawberry.field
    async def partner(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await Professional.related(info, self.partner_id)


@strawberry.type
class TradeGap:
    trade: str
    demand: int = strawberry.field(description="Distinct customers of network members who "
                                   "hired a non-member for this trade.")
    fit: float = strawberry.field(
        description="In [0, 1]: how well the trade complements the members' trades.")
    score: float = strawberry.field(
        description="demand weighted by fit: NetworkGaps.missingTrades is ordered by it, "
        "highest first.")
    candidate_ids: strawberry.Private[list[str]]

    @strawberry.field(description="Non-members offering the trade, best candidates first.")
    async def candidates(
        self, info: Info, limit: int | None = 5
    ) -> list[Annotated[Professional, strawberry.lazy("schema.professional")]]:
        return await _professionals(info, self.candidate_ids[: 5 if limit is None else limit])


@strawberry.type
class MemberPair:
    score: float
    a_id: strawberry.Private[str]
    b_id: strawberry.Private[str]

    @strawberry.field
    async def a(self, info: Info) -> LazyProfessional:
        return await Professional.related(info, self.a_id)

    @strawberry.field
    async def b(self, info: Info) -> LazyProfessional:
        return await Professional.related(info, self.b_id)


@strawberry.type
class NetworkGaps:
    missing_trades: list[TradeGap] = strawberry.field(
        description="Trades no member offers, by score (demand weighted by fit), highest "
        "first.")
    passive_members_ids: strawberry.Private[list[str]]
    top_referrer_share: float = strawberry.field(
        description="Share of in-network referrals made by the single most active referrer; 0 "
        "when none.")
    result: strawberry.Private[graph_partners.NetworkGaps]

    @classmethod
    def of(cls, result: graph_partners.NetworkGaps) -> NetworkGaps:
        return cls(
            missing_trades=[TradeGap(trade=g.trade, demand=g.demand, fit=g.fit,
                                     score=g.score, candidate_ids=g.candidate_ids)
                            for g in result.missing_trades],
            passive_members_ids=result.passive_members,
            top_referrer_share=result.top_referrer_share,
            result=result,
        )

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
        return await _professionals(info, self.passive_members_ids)


@strawberry.type
class AnalyticsRefresh:
    professionals: int
    trades: int
    seconds: float
    finished_at: datetime = strawberry.field(
        description="When the refresh these figures describe finished.")

    @classmethod
    def of(cls, done: analytics.RefreshResult) -> AnalyticsRefresh:
        return cls(professionals=done.professionals, trades=done.trades,
                   seconds=round(done.seconds, 3), finished_at=done.finished_at)


@strawberry.type
class PartnersMutation:
    @strawberry.mutation(description="Recomputes reputation and trade complementarity now "
                         "(admin only); they are also refreshed automatically. At most one "
                         "refresh runs at a time across all service processes: a call while "
                         "one runs joins it and answers when it has finished, bounded by "
                         "RG_ANALYTICS_TIMEOUT, not by the request timeout.")
    async def refresh_analytics(self, info: Info) -> AnalyticsRefresh:
        return AnalyticsRefresh.of(await resolve.refresh(info))
