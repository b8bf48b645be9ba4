"""Resolvers of Job and recordJob."""

from __future__ import annotations

from graph import jobs
from resolvers.common import mutate
from resolvers.context import Info

# The schema modules import these resolvers; their names are looked up at call time.
from schema import customer as customer_types
from schema import job as types
from schema import professional as professional_types
from schema import referral as referral_types


async def customer(info: Info, customer_id: str) -> customer_types.Customer:
    found = await info.context.loaders.customer_by_id.load(customer_id)
    return customer_types.Customer.from_model(found)


async def professional(info: Info, professional_id: str) -> professional_types.Professional:
    found = await info.context.loaders.professional_by_id.load(professional_id)
    return professional_types.Professional.from_model(found)


async def referral(info: Info, referral_id: str | None) -> referral_types.Referral | None:
    if referral_id is None:
        return None
    found = await info.context.loaders.referral_by_id.load(referral_id)
    return None if found is None else referral_types.Referral.from_model(found)


async def record_job(info: Info, data: types.RecordJobInput) -> types.JobPayload:
    new = jobs.NewJob(
        customer_id=data.customer_id, professional_id=data.professional_id,
        completed_at=data.completed_at, trade=data.trade, rating=data.rating, value=data.value,
        id=data.id,
    )
    return await mutate(
        lambda: jobs.record_job(info.context.store, new),
        lambda j, errors: types.JobPayload(
            job=None if j is None else types.Job.from_model(j), errors=errors
        ),
    )
