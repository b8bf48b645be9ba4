"""Resolvers of Referral and its queries and mutations."""

from __future__ import annotations

from graph import access, models, referrals
from graph.ids import kind_of
from graph.models import ReferralStatus
from graph.pagination import Page
from resolvers import job as job_resolvers
from resolvers.common import (
    TIME_KEY,
    guarded,
    mutate,
    page_request,
    prime_parties,
    wants_total,
)
from resolvers.context import Info
from resolvers.loaders import MaybeAwaitable
from resolvers.permissions import ensure, forbidden, require, viewer

# The schema modules import these resolvers; their names are looked up at call time.
from schema import customer as customer_types
from schema import job as job_types
from schema import professional as professional_types
from schema import referral as types


def _parties(r: models.Referral) -> tuple[str, str, str]:
    return (r.referrer_id, r.professional_id, r.referee_id)


def party(
    info: Info, party_id: str
) -> MaybeAwaitable[customer_types.Customer | professional_types.Professional]:
    if kind_of(party_id) == "Customer":
        return customer(info, party_id)
    return professional(info, party_id)


def customer(info: Info, customer_id: str) -> MaybeAwaitable[customer_types.Customer]:
    return job_resolvers.related_customer(info, customer_id)


def professional(
    info: Info, professional_id: str
) -> MaybeAwaitable[professional_types.Professional]:
    return job_resolvers.related_professional(info, professional_id)


async def job(info: Info, job_id: str | None) -> job_types.Job | None:
    return await job_resolvers.job(info, job_id)


async def converted_job(info: Info, job_id: str | None) -> job_types.Job | None:
    """The job a referral converted into, for those who may read it (its customer and
    professional, admins); null for others, such as the referrer."""
    return await job_resolvers.readable(info, job_id)


async def readable(info: Info, referral_id: str | None) -> types.Referral | None:
    """The referral when the viewer may read it, else None (for referrals met on a path)."""
    if referral_id is None:
        return None
    found = await info.context.loaders.referral_by_id.load(referral_id)
    if found is None or not access.can_read_referral(viewer(info), _parties(found)):
        return None
    return types.Referral.from_model(found)


def note(info: Info, r: models.Referral) -> str | None:
    return r.note if access.can_read_referral(viewer(info), _parties(r)) else None


async def chain(info: Info, r: models.Referral) -> list[types.Referral]:
    from resolvers import trust as trust_resolvers

    return await trust_resolvers.chain(info, r)


async def referral(info: Info, id: str) -> types.Referral | None:
    """A referral: its referrer, professional and referee read it; admins read all."""
    principal = viewer(info)
    found = await info.context.loaders.referral_by_id.load(id)
    if found is None:
        if principal.admin:
            return None
        raise forbidden()
    require(access.can_read_referral(principal, _parties(found)))
    return types.Referral.from_model(found)


async def list_referrals(
    info: Info, status: ReferralStatus | None, professional_id: str | None,
    referrer_id: str | None, first: int | None, after: str | None,
) -> types.ReferralConnection:
    """Admins list any referrals; a party lists those that name it or that it made."""
    principal = viewer(info)
    require(principal.admin or principal.is_(professional_id) or principal.is_(referrer_id))
    page = page_request(info, first, after, TIME_KEY)
    result = await guarded(referrals.list_referrals(
        info.context.store, page, None if status is None else ReferralStatus(status),
        professional_id, referrer_id, wants_total(info),
    ))
    return connection(info, result)


def connection(info: Info, page: Page[models.Referral]) -> types.ReferralConnection:
    prime_parties(info, (r for _, r in page.items))
    return types.ReferralConnection.of(page, types.Referral.from_model)


def _payload(r: models.Referral | None, errors: list) -> types.ReferralPayload:
    return types.ReferralPayload(
        referral=None if r is None else types.Referral.from_model(r), errors=errors
    )


async def create_referral(info: Info, data: types.CreateReferralInput) -> types.ReferralPayload:
    new = referrals.NewReferral(
        referrer_id=data.referrer_id, professional_id=data.professional_id,
        referee_id=data.referee_id, note=data.note, id=data.id,
    )

    async def run() -> models.Referral:
        ensure(access.can_refer_as(viewer(info), data.referrer_id), ["input", "referrerId"])
        return await referrals.create_referral(info.context.store, new, viewer(info))

    return await mutate(run, _payload)


async def update_referral_status(
    info: Info, data: types.UpdateReferralStatusInput
) -> types.ReferralPayload:
    status = ReferralStatus(data.status)

    async def run() -> models.Referral:
        principal = viewer(info)
        if not principal.admin:
            current = await info.context.loaders.referral_by_id.load(data.id)
            ensure(
                current is not None
                and access.can_change_status(principal, current.professional_id, status.value),
                ["input", "id"],
            )
        return await referrals.update_status(info.context.store, data.id, status, data.job_id)

    return await mutate(run, _payload)
