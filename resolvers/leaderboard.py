"""Resolvers of leaderboards: a network's members and a professional's top referrers, loaded
for a whole page of networks or professionals at once."""

from __future__ import annotations

from datetime import datetime

from graph.leaderboard import Board, Entry, LeaderboardKey, LeaderboardMetric
from resolvers import permissions
from resolvers.common import declared_default, window
from resolvers.context import Info
from resolvers.permissions import require


async def network(
    info: Info, network_id: str, metric: LeaderboardMetric, since: datetime | None,
    until: datetime | None, limit: int | None,
) -> list[Entry]:
    """The network's organisers, its active members and admins (whoever may read it)."""
    require(await permissions.can_read_network(info, network_id))
    start, end = window(since, until)
    key = LeaderboardKey(Board.NETWORK, network_id, metric, start, end,
                         declared_default(info, "limit", limit))
    return await info.context.loaders.leaderboard_by_key.load(key)


async def top_referrers(
    info: Info, professional_id: str, metric: LeaderboardMetric, since: datetime | None,
    until: datetime | None, limit: int | None,
) -> list[Entry]:
    require(await permissions.can_read_figures(info, professional_id))
    start, end = window(since, until)
    key = LeaderboardKey(Board.PROFESSIONAL, professional_id, metric, start, end,
                         declared_default(info, "limit", limit))
    return await info.context.loaders.leaderboard_by_key.load(key)
