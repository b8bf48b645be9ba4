"""Resolvers of partner recommendations, network gaps and the analytics refresh."""

from __future__ import annotations

from datetime import datetime

from graphql import GraphQLError

from graph import access, analytics, partners
from resolvers import professional as professional_resolvers
from resolvers.common import declared_default, guarded, window
from resolvers.context import Info
from resolvers.deadline import deadline_of
from resolvers.permissions import require, viewer

# The schema modules import these resolvers; their names are looked up at call time.
from schema import partners as types
from schema import professional as professional_types

SHARED_REFRESH = "analytics_refresh"


async def professional(info: Info, professional_id: str) -> professional_types.Professional:
    return await professional_resolvers.related(info, professional_id)


async def professionals(info: Info, ids: list[str]) -> list[professional_types.Professional]:
    found = await info.context.loaders.professional_by_id.load_many(ids)
    return [professional_types.Professional.from_model(p) for p in found if p is not None]


async def recommendations(
    info: Info, professional_id: str, limit: int | None, include_same_trade: bool | None
) -> list[types.PartnerRecommendation]:
    require(access.can_read_party_private(viewer(info), professional_id))
    found = await guarded(partners.recommendations(
        info.context.store, professional_id, declared_default(info, "limit", limit),
        bool(include_same_trade)))
    return [types.PartnerRecommendation(score=r.score, shared_customers=r.shared_customers,
                                        reasons=r.reasons, partner_id=r.partner_id)
            for r in found]


async def gaps(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> types.NetworkGaps:
    require(access.can_manage_network(viewer(info), network_id))
    start, end = window(since, until)
    result = await guarded(partners.gaps(info.context.store, network_id, start, end))
    return types.NetworkGaps(
        missing_trades=[types.TradeGap(trade=g.trade, demand=g.demand,
                                       candidate_ids=g.candidate_ids)
                        for g in result.missing_trades],
        passive_members_ids=result.passive_members,
        top_referrer_share=result.top_referrer_share,
        result=result,
    )


async def refresh(info: Info) -> types.AnalyticsRefresh:
    require(viewer(info).admin)
    # Bounded by RG_ANALYTICS_TIMEOUT instead: the request timeout must not cut a refresh off.
    deadline = deadline_of(info.context.request)
    if deadline is not None:
        deadline.lift()
    # Every refreshAnalytics of one request (aliases, which run one after the other) answers
    # with the first one's run, or its error: a request must not queue up whole-graph jobs.
    done = info.context.extras.get(SHARED_REFRESH)
    if done is None:
        try:
            done = await analytics.refresh(info.context.store,
                                           info.context.settings.analytics_timeout)
        except Exception as exc:
            done = exc
        info.context.extras[SHARED_REFRESH] = done
    if isinstance(done, analytics.RefreshTimeout):
        raise GraphQLError(str(done), extensions={"code": "TIMEOUT"}) from None
    if isinstance(done, Exception):
        raise done
    return types.AnalyticsRefresh(professionals=done.professionals, trades=done.trades,
                                  seconds=round(done.seconds, 3), finished_at=done.finished_at)

