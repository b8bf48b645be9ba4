"""Resolvers of reciprocity balances for professionals and networks."""

from __future__ import annotations

from datetime import datetime

from graph import access, reciprocity
from graph.algorithms.reciprocity import Balance, PairGap
from resolvers import permissions
from resolvers.common import declared_default, guarded, window
from resolvers.context import Info
from resolvers.permissions import require, viewer


async def balance(
    info: Info, professional_id: str, since: datetime | None, until: datetime | None
) -> reciprocity.ProfessionalBalance:
    require(await permissions.can_read_figures(info, professional_id))
    start, end = window(since, until)
    return await info.context.loaders.balance_by_key.load(
        reciprocity.BalanceKey(professional_id, start, end))


async def trend(info: Info, professional_id: str, months: int | None) -> list[Balance]:
    """Loaded for a whole page of professionals at once, in two round trips."""
    require(await permissions.can_read_figures(info, professional_id))
    key = reciprocity.TrendKey(professional_id, declared_default(info, "months", months))
    return await info.context.loaders.trend_by_key.load(key)


async def network(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> reciprocity.NetworkReciprocity:
    require(access.can_manage_network(viewer(info), network_id))
    start, end = window(since, until)
    key = reciprocity.MemberGraphKey(network_id, start, end)
    return await reciprocity.reciprocity_of(
        await guarded(info.context.loaders.member_graph_by_key.load(key)))


async def imbalanced_pairs(info: Info, network_id: str, min_gap: int | None) -> list[PairGap]:
    require(access.can_manage_network(viewer(info), network_id))
    key = reciprocity.MemberGraphKey(network_id)
    G = await guarded(info.context.loaders.member_graph_by_key.load(key))
    return await reciprocity.imbalanced_pairs_of(G, declared_default(info, "min_gap", min_gap))
