"""Resolvers of Job, recordJob, confirmJob and rejectJob."""

from __future__ import annotations

from graph import access, jobs, models
from graph.pagination import Page
from resolvers import customer as customer_resolvers
from resolvers import professional as professional_resolvers
from resolvers.common import mutate, prime_parties
from resolvers.context import Info
from resolvers.loaders import MISSING, MaybeAwaitable, cached
from resolvers.permissions import ensure, forbidden, require, viewer

# The schema modules import these resolvers; their names are looked up at call time.
from schema import customer as customer_types
from schema import job as types
from schema import professional as professional_types
from schema import referral as referral_types


async def job(info: Info, job_id: str | None) -> types.Job | None:
    """A job: its customer, its professional and admins read it."""
    if job_id is None:
        return None
    principal = viewer(info)
    found = await info.context.loaders.job_by_id.load(job_id)
    if found is None:
        if principal.admin:
            return None
        raise forbidden()
    require(access.can_read_job(principal, found.customer_id, found.professional_id))
    return types.Job.from_model(found)


def connection(info: Info, page: Page[models.Job]) -> types.JobConnection:
    prime_parties(info, (j for _, j in page.items))
    return types.JobConnection.of(page, types.Job.from_model)


async def readable(info: Info, job_id: str | None) -> types.Job | None:
    """The job when the viewer may read it, else None (for jobs met inside other objects:
    a referral's conversion, a hop of a trust path)."""
    if job_id is None:
        return None
    found = await info.context.loaders.job_by_id.load(job_id)
    if found is None or not access.can_read_job(viewer(info), found.customer_id,
                                                found.professional_id):
        return None
    return types.Job.from_model(found)


async def customer(info: Info, customer_id: str) -> customer_types.Customer:
    return await customer_resolvers.related(info, customer_id)


async def professional(info: Info, professional_id: str) -> professional_types.Professional:
    return await professional_resolvers.related(info, professional_id)


def related_customer(info: Info, customer_id: str) -> MaybeAwaitable[customer_types.Customer]:
    """A job's or a referral's customer: at once when a page brought it along (no coroutine
    per field), else through its loader."""
    found = cached(info.context.loaders.customer_by_id, customer_id)
    if found is MISSING or found is None:
        return customer_resolvers.related(info, customer_id)
    return customer_types.Customer.from_model(found)


def related_professional(
    info: Info, professional_id: str
) -> MaybeAwaitable[professional_types.Professional]:
    """A job's or a referral's professional, like ``related_customer``."""
    found = cached(info.context.loaders.professional_by_id, professional_id)
    if found is MISSING or found is None:
        return professional_resolvers.related(info, professional_id)
    return professional_types.Professional.from_model(found)


async def referral(info: Info, referral_id: str | None) -> referral_types.Referral | None:
    from resolvers import referral as referral_resolvers

    return None if referral_id is None else await referral_resolvers.referral(info, referral_id)


async def record_job(info: Info, data: types.RecordJobInput) -> types.JobPayload:
    new = jobs.NewJob(
        customer_id=data.customer_id, professional_id=data.professional_id,
        completed_at=data.completed_at, trade=data.trade, rating=data.rating, value=data.value,
        id=data.id,
    )

    async def run() -> models.Job:
        principal = viewer(info)
        ensure(access.can_record_job(principal, data.professional_id),
               ["input", "professionalId"])
        # An admin's record is confirmed; a professional's waits for its customer.
        return await jobs.record_job(info.context.store, new, confirmed=principal.admin,
                                     viewer=principal)

    return await mutate(run, _payload)


async def _ensure_decides(info: Info, job_id: str) -> None:
    """Only the job's customer and admins decide on a job; any other caller is refused the
    same way whether or not the job exists."""
    principal = viewer(info)
    if not principal.admin:
        found = await info.context.loaders.job_by_id.load(job_id)
        ensure(found is not None and access.can_decide_job(principal, found.customer_id),
               ["id"])


async def confirm_job(info: Info, job_id: str, rating: int | None) -> types.JobPayload:
    async def run() -> models.Job:
        await _ensure_decides(info, job_id)
        return await jobs.confirm_job(info.context.store, job_id, rating)

    return await mutate(run, _payload)


async def reject_job(info: Info, job_id: str, reason: str | None) -> types.JobPayload:
    async def run() -> models.Job:
        await _ensure_decides(info, job_id)
        return await jobs.reject_job(info.context.store, job_id, reason)

    return await mutate(run, _payload)


def _payload(j: models.Job | None, errors: list) -> types.JobPayload:
    return types.JobPayload(job=None if j is None else types.Job.from_model(j), errors=errors)
