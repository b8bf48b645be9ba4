"""Resolvers of reciprocity balances for professionals and networks."""

from __future__ import annotations

from datetime import datetime

from graph import access, reciprocity
from graph.access import Role
from resolvers import professional as professional_resolvers
from resolvers.common import declared_default, guarded, window
from resolvers.context import Info
from resolvers.permissions import require, viewer

# The schema modules import these resolvers; their names are looked up at call time.
from schema import professional as professional_types
from schema import reciprocity as types


async def professional(info: Info, professional_id: str) -> professional_types.Professional:
    return await professional_resolvers.related(info, professional_id)


async def _may_read_balance(info: Info, professional_id: str) -> bool:
    """The professional itself, admins, and organisers of a network it belongs to."""
    principal = viewer(info)
    if access.can_read_party_private(principal, professional_id):
        return True
    if principal.role is not Role.ORGANISER:
        return False
    mine = await info.context.loaders.networks_by_professional.load(professional_id)
    return any(principal.organises(n.id) for n in mine)


async def balance(
    info: Info, professional_id: str, since: datetime | None, until: datetime | None
) -> types.ReciprocityBalance:
    require(await _may_read_balance(info, professional_id))
    start, end = window(since, until)
    found = await info.context.loaders.balance_by_key.load(
        reciprocity.BalanceKey(professional_id, start, end))
    return types.ReciprocityBalance.of(found)


async def trend(info: Info, professional_id: str, months: int | None) -> list[types.MonthBalance]:
    require(await _may_read_balance(info, professional_id))
    rows = await guarded(reciprocity.trend(info.context.store, professional_id,
                                           declared_default(info, "months", months)))
    return [types.MonthBalance(month=str(m.member), given=m.given, received=m.received,
                               balance=m.balance) for m in rows]


async def network(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> types.NetworkReciprocity:
    require(access.can_manage_network(viewer(info), network_id))
    start, end = window(since, until)
    result = await guarded(reciprocity.network_reciprocity(info.context.store, network_id,
                                                           start, end))
    return types.NetworkReciprocity(referrals=result.referrals,
                                    coefficient=result.coefficient, result=result)


def members(
    result: reciprocity.NetworkReciprocity, limit: int | None, givers: bool
) -> list[types.MemberBalance]:
    top, bottom = result.givers_and_takers(5 if limit is None else limit)
    return [types.MemberBalance(given=b.given, received=b.received, balance=b.balance,
                                member_id=str(b.member)) for b in (top if givers else bottom)]


async def imbalanced_pairs(
    info: Info, network_id: str, min_gap: int | None
) -> list[types.PairImbalance]:
    require(access.can_manage_network(viewer(info), network_id))
    pairs = await guarded(reciprocity.imbalanced_pairs(
        info.context.store, network_id, declared_default(info, "min_gap", min_gap)))
    return [types.PairImbalance(a_to_b=p.a_to_b, b_to_a=p.b_to_a, gap=p.gap, a_id=str(p.a),
                                b_id=str(p.b)) for p in pairs]

