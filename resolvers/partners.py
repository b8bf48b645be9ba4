"""Resolvers of partner recommendations, network gaps and the analytics refresh."""

from __future__ import annotations

from datetime import datetime

from graphql import GraphQLError

from graph import access, analytics, partners
from resolvers.common import declared_default, guarded, window
from resolvers.context import Info
from resolvers.deadline import deadline_of
from resolvers.permissions import require, viewer

SHARED_REFRESH = "analytics_refresh"


async def recommendations(
    info: Info, professional_id: str, limit: int | None, include_same_trade: bool | None
) -> list[partners.Recommendation]:
    require(access.can_read_party_private(viewer(info), professional_id))
    return await guarded(partners.recommendations(
        info.context.store, professional_id, declared_default(info, "limit", limit),
        bool(include_same_trade)))


async def gaps(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> partners.NetworkGaps:
    require(access.can_manage_network(viewer(info), network_id))
    start, end = window(since, until)
    return await guarded(partners.gaps(info.context.store, network_id, start, end))


async def refresh(info: Info) -> analytics.RefreshResult:
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
                                           info.context.settings.analytics_timeout,
                                           curated=info.context.curated,
                                           engine=info.context.settings.engine)
        except Exception as exc:
            done = exc
        info.context.extras[SHARED_REFRESH] = done
    if isinstance(done, analytics.RefreshTimeout):
        raise GraphQLError(str(done), extensions={"code": "TIMEOUT"}) from None
    if isinstance(done, Exception):
        raise done
    assert isinstance(done, analytics.RefreshResult)
    return done
