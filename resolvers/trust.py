"""Resolvers of trust paths and trusted professionals."""

from __future__ import annotations

from graph import access, models, trust
from graph.ids import kind_of
from resolvers import customer as customer_resolvers
from resolvers.common import declared_default, guarded
from resolvers.context import Info
from resolvers.permissions import require, viewer


async def trust_paths(
    info: Info, source: str, target: str, limit: int | None, max_hops: int | None
) -> list[trust.Path]:
    principal = viewer(info)
    require(access.can_trace_from(principal, source))
    if not principal.admin and kind_of(target) == "Customer":
        # An unknown, an erased and an unreadable customer are refused alike.
        require(await customer_resolvers.nameable(info, target))
    return await guarded(trust.trust_paths(
        info.context.store, source, target, declared_default(info, "limit", limit),
        declared_default(info, "max_hops", max_hops)))


async def trusted_professionals(
    info: Info, customer_id: str, trade: str | None, limit: int | None, max_hops: int | None
) -> list[tuple[models.Professional, trust.Path, trust.Path | None]]:
    require(access.can_read_party_private(viewer(info), customer_id))
    return await guarded(trust.trusted_professionals(
        info.context.store, customer_id, declared_default(info, "max_hops", max_hops),
        declared_default(info, "limit", limit), trade))
