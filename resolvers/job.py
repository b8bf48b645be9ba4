"""Resolvers of Job, recordJob, confirmJob and rejectJob."""

from __future__ import annotations

from graph import access, jobs, models
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers.common import mutate, prime_parties
from resolvers.context import Info
from resolvers.permissions import ensure, forbidden, require, viewer


async def job(info: Info, job_id: str | None) -> models.Job | None:
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
    return found


def page(info: Info, found: Page[models.Job]) -> Page[models.Job]:
    """A page of jobs, its parties handed to the loaders."""
    prime_parties(info, (j for _, j in found.items))
    return found


async def record_job(info: Info, new: jobs.NewJob) -> Outcome[models.Job]:
    async def run() -> models.Job:
        principal = viewer(info)
        ensure(access.can_record_job(principal, new.professional_id),
               ["input", "professionalId"])
        # An admin's record is confirmed; a professional's waits for its customer.
        return await jobs.record_job(info.context.store, new, confirmed=principal.admin,
                                     viewer=principal)

    return await mutate(run)


async def _ensure_decides(info: Info, job_id: str) -> None:
    """Only the job's customer and admins decide on a job; any other caller is refused the
    same way whether or not the job exists."""
    principal = viewer(info)
    if not principal.admin:
        found = await info.context.loaders.job_by_id.load(job_id)
        ensure(found is not None and access.can_decide_job(principal, found.customer_id),
               ["id"])


async def confirm_job(info: Info, job_id: str, rating: int | None) -> Outcome[models.Job]:
    async def run() -> models.Job:
        await _ensure_decides(info, job_id)
        return await jobs.confirm_job(info.context.store, job_id, rating)

    return await mutate(run)


async def reject_job(info: Info, job_id: str, reason: str | None) -> Outcome[models.Job]:
    async def run() -> models.Job:
        await _ensure_decides(info, job_id)
        return await jobs.reject_job(info.context.store, job_id, reason)

    return await mutate(run)
