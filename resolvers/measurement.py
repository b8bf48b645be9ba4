"""Resolvers of measurement: referral funnels, grouped statistics, and a network's matrix and
trend of referrals between its members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from graph import access
from graph.measurement import (
    Cell,
    Dimension,
    Funnel,
    FunnelKey,
    MatrixKey,
    Month,
    Scope,
    StatsRow,
    TrendKey,
    stats,
)
from resolvers import permissions
from resolvers.common import declared_default, guarded, window
from resolvers.context import Info
from resolvers.permissions import require, viewer


async def professional_funnel(
    info: Info, professional_id: str, since: datetime | None, until: datetime | None
) -> Funnel:
    """The professional itself, organisers of a network it is an active member of, admins."""
    require(await permissions.can_read_figures(info, professional_id))
    start, end = window(since, until)
    key = FunnelKey(Scope.PROFESSIONAL, professional=professional_id, since=start, until=end)
    return await info.context.loaders.funnel_by_key.load(key)


async def network_funnel(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> Funnel:
    """Its organisers and admins, as for the network's reciprocity."""
    require(access.can_manage_network(viewer(info), network_id))
    start, end = window(since, until)
    key = FunnelKey(Scope.NETWORK, network=network_id, since=start, until=end)
    return await info.context.loaders.funnel_by_key.load(key)


async def may_read_stats(info: Info, network_id: str | None, professional_id: str | None) -> bool:
    """Admins read any statistics; an organiser those of a network it organises; a
    professional those of referrals naming it (within a network only if it may read it)."""
    principal = viewer(info)
    if principal.admin:
        return True
    if principal.role is access.Role.ORGANISER:
        return network_id is not None and principal.organises(network_id)
    if professional_id is None or not principal.is_(professional_id):
        return False
    return network_id is None or await permissions.can_read_network(info, network_id)


def _scope(network_id: str | None, professional_id: str | None) -> Scope:
    if network_id is None:
        return Scope.ALL if professional_id is None else Scope.PROFESSIONAL
    return Scope.NETWORK if professional_id is None else Scope.NETWORK_PROFESSIONAL


async def referral_stats(
    info: Info, group_by: Sequence[Dimension], since: datetime | None, until: datetime | None,
    network_id: str | None, professional_id: str | None,
) -> list[StatsRow]:
    require(await may_read_stats(info, network_id, professional_id))
    start, end = window(since, until)
    key = FunnelKey(_scope(network_id, professional_id), network_id, professional_id, start, end)
    return await guarded(stats(info.context.store, key, group_by))


async def matrix(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> list[Cell]:
    require(access.can_manage_network(viewer(info), network_id))
    start, end = window(since, until)
    return await info.context.loaders.matrix_by_key.load(MatrixKey(network_id, start, end))


async def trend(info: Info, network_id: str, months: int | None) -> list[Month]:
    require(access.can_manage_network(viewer(info), network_id))
    key = TrendKey(network_id, declared_default(info, "months", months))
    return await info.context.loaders.network_trend_by_key.load(key)
