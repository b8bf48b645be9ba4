"""Resolvers of Referral and its queries and mutations."""

from __future__ import annotations

from graph import access, models, referrals, trust
from graph.models import ReferralStatus
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers.common import (
    TIME_KEY,
    guarded,
    mutate,
    page_request,
    prime_parties,
    wants_total,
)
from resolvers.context import Info
from resolvers.parties import referral_parties
from resolvers.permissions import can_review, ensure, forbidden, require, viewer


def note(info: Info, r: models.Referral) -> str | None:
    return r.note if access.can_read_referral(viewer(info), referral_parties(r)) else None


async def chain(info: Info, r: models.Referral) -> list[models.Referral]:
    """Upstream referrals to the same professional, nearest first. Each shows its parties as
    anyone who meets them sees them; notes stay with the referral's own parties. Loaded for a
    whole page at once: one round trip per step up the longest chain, then one for them all."""
    ids = await info.context.loaders.chain_by_key.load(trust.ChainKey.of(r))
    found = await info.context.loaders.referral_by_id.load_many(ids)
    return [f for f in found if f is not None]


async def referral(info: Info, id: str | None) -> models.Referral | None:
    """A referral: its referrer, professional and referee read it; admins read all; organisers
    read those they may review (between active members of their networks), notes aside."""
    if id is None:
        return None
    principal = viewer(info)
    found = await info.context.loaders.referral_by_id.load(id)
    if found is None:
        if principal.admin:
            return None
        raise forbidden()
    require(access.can_read_referral(principal, referral_parties(found))
            or await can_review(info, found.referrer_id, found.professional_id))
    return found


async def list_referrals(
    info: Info, status: ReferralStatus | None, professional_id: str | None,
    referrer_id: str | None, first: int | None, after: str | None,
) -> Page[models.Referral]:
    """Admins list any referrals; a party lists those that name it or that it made."""
    principal = viewer(info)
    require(principal.admin or principal.is_(professional_id) or principal.is_(referrer_id))
    request = page_request(info, first, after, TIME_KEY)
    result = await guarded(referrals.list_referrals(
        info.context.store, request, None if status is None else ReferralStatus(status),
        professional_id, referrer_id, wants_total(info),
    ))
    return page(info, result)


def page(info: Info, found: Page[models.Referral]) -> Page[models.Referral]:
    """A page of referrals, its parties handed to the loaders."""
    prime_parties(info, (r for _, r in found.items))
    return found


async def create_referral(info: Info, new: referrals.NewReferral) -> Outcome[models.Referral]:
    async def run() -> models.Referral:
        ensure(access.can_refer_as(viewer(info), new.referrer_id), ["input", "referrerId"])
        return await referrals.create_referral(info.context.store, new, viewer(info))

    return await mutate(run)


async def update_referral_status(
    info: Info, referral_id: str, status: ReferralStatus, job_id: str | None
) -> Outcome[models.Referral]:
    status = ReferralStatus(status)

    async def run() -> models.Referral:
        principal = viewer(info)
        if not principal.admin:
            current = await info.context.loaders.referral_by_id.load(referral_id)
            ensure(
                current is not None
                and access.can_change_status(principal, current.professional_id, status.value),
                ["input", "id"],
            )
        return await referrals.update_status(info.context.store, referral_id, status, job_id)

    return await mutate(run)
