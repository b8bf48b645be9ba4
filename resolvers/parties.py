"""Looking up the parties and objects that other objects refer to, for every type alike.

A job names its customer and professional, a referral its three parties and its job, a trust
hop its two ends, a balance its partner: all of them resolve here, through the request's
loaders. What the viewer may read of a party is decided by the party's own fields.
"""

from __future__ import annotations

from graph import access, models
from graph.ids import kind_of
from resolvers.context import Info
from resolvers.loaders import MISSING, cached
from resolvers.permissions import viewer


def referral_parties(r: models.Referral) -> tuple[str, str, str]:
    return (r.referrer_id, r.professional_id, r.referee_id)


def in_hand(info: Info, party_id: str) -> models.Customer | models.Professional | None:
    """The party when the request's loaders already hold it (a page brought it along), else
    None: a field can then answer at once, with no coroutine and no trip through the loop."""
    loaders = info.context.loaders
    found: models.Customer | models.Professional | None
    if kind_of(party_id) == "Customer":
        found = cached(loaders.customer_by_id, party_id)
    else:
        found = cached(loaders.professional_by_id, party_id)
    return None if found is MISSING else found


async def customer(info: Info, customer_id: str) -> models.Customer:
    """A customer reached through an object the viewer may read (a job or a referral); its
    private fields keep their own checks."""
    found = await info.context.loaders.customer_by_id.load(customer_id)
    assert found is not None, customer_id  # referenced by a relationship
    return found


async def professional(info: Info, professional_id: str) -> models.Professional:
    """A professional referenced by another object (a job, a referral, a balance)."""
    found = await info.context.loaders.professional_by_id.load(professional_id)
    assert found is not None, professional_id  # referenced by a relationship
    return found


async def professionals(info: Info, ids: list[str]) -> list[models.Professional]:
    """Professionals named in a result (candidates, passive members), those that exist."""
    found = await info.context.loaders.professional_by_id.load_many(ids)
    return [p for p in found if p is not None]


async def party(info: Info, party_id: str) -> models.Customer | models.Professional:
    """A referrer or a party on a path, shown as to anyone who meets it there (customers by
    display name unless the viewer may see more)."""
    if kind_of(party_id) == "Customer":
        return await customer(info, party_id)
    return await professional(info, party_id)


async def readable_job(info: Info, job_id: str | None) -> models.Job | None:
    """The job when the viewer may read it, else None (for jobs met inside other objects:
    a referral's conversion, a hop of a trust path)."""
    if job_id is None:
        return None
    found = await info.context.loaders.job_by_id.load(job_id)
    if found is None or not access.can_read_job(viewer(info), found.customer_id,
                                                found.professional_id):
        return None
    return found


async def readable_referral(info: Info, referral_id: str | None) -> models.Referral | None:
    """The referral when the viewer may read it, else None (for referrals met on a path or in
    a chain)."""
    if referral_id is None:
        return None
    found = await info.context.loaders.referral_by_id.load(referral_id)
    if found is None or not access.can_read_referral(viewer(info), referral_parties(found)):
        return None
    return found
