"""Resolvers of trust paths, trusted professionals and referral chains."""

from __future__ import annotations

from graph import access, trust
from graph.ids import kind_of
from graph.models import Referral
from resolvers import customer as customer_resolvers
from resolvers import job as job_resolvers
from resolvers.common import declared_default, guarded
from resolvers.context import Info
from resolvers.permissions import require, viewer

# The schema modules import these resolvers; their names are looked up at call time.
from schema import customer as customer_types
from schema import professional as professional_types
from schema import referral as referral_types
from schema import trust as types


async def party(
    info: Info, party_id: str
) -> customer_types.Customer | professional_types.Professional:
    """A party on a path, shown as to anyone who meets it there (customers by display name
    unless the viewer may see more)."""
    if kind_of(party_id) == "Customer":
        return await job_resolvers.customer(info, party_id)
    return await job_resolvers.professional(info, party_id)


async def trust_paths(
    info: Info, source: str, target: str, limit: int | None, max_hops: int | None
) -> list[types.TrustPath]:
    principal = viewer(info)
    require(access.can_trace_from(principal, source))
    if not principal.admin and kind_of(target) == "Customer":
        # An unknown, an erased and an unreadable customer are refused alike.
        require(await customer_resolvers.nameable(info, target))
    found = await guarded(trust.trust_paths(
        info.context.store, source, target, declared_default(info, "limit", limit),
        declared_default(info, "max_hops", max_hops)))
    return [types.TrustPath.of(p) for p in found]


async def trusted_professionals(
    info: Info, customer_id: str, trade: str | None, limit: int | None, max_hops: int | None
) -> list[types.TrustedProfessional]:
    require(access.can_read_party_private(viewer(info), customer_id))
    found = await guarded(trust.trusted_professionals(
        info.context.store, customer_id, declared_default(info, "max_hops", max_hops),
        declared_default(info, "limit", limit), trade))
    return [
        types.TrustedProfessional(
            professional=professional_types.Professional.from_model(pro), trust=path.trust,
            path=types.TrustPath.of(path),
        )
        for pro, path in found
    ]


async def chain(info: Info, referral: Referral) -> list[referral_types.Referral]:
    """Upstream referrals to the same professional, nearest first. Each shows its parties as
    anyone who meets them sees them; notes stay with the referral's own parties."""
    ids = await trust.chain(info.context.store, referral)
    found = await info.context.loaders.referral_by_id.load_many(ids)
    return [referral_types.Referral.from_model(r) for r in found if r is not None]
