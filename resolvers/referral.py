"""Resolvers of Referral and its queries and mutations."""

from __future__ import annotations

from graph import referrals
from graph.ids import kind_of
from graph.models import ReferralStatus
from resolvers.common import TIME_KEY, guarded, mutate, page_request
from resolvers.context import Info
from resolvers import job as job_resolvers

# The schema modules import these resolvers; their names are looked up at call time.
from schema import customer as customer_types
from schema import job as job_types
from schema import professional as professional_types
from schema import referral as types

async def party(
    info: Info, party_id: str
) -> customer_types.Customer | professional_types.Professional:
    if kind_of(party_id) == "Customer":
        return await job_resolvers.customer(info, party_id)
    return await job_resolvers.professional(info, party_id)


async def customer(info: Info, customer_id: str) -> customer_types.Customer:
    return await job_resolvers.customer(info, customer_id)


async def professional(info: Info, professional_id: str) -> professional_types.Professional:
    return await job_resolvers.professional(info, professional_id)


async def job(info: Info, job_id: str | None) -> job_types.Job | None:
    if job_id is None:
        return None
    found = await info.context.loaders.job_by_id.load(job_id)
    return None if found is None else job_types.Job.from_model(found)


async def referral(info: Info, id: str) -> types.Referral | None:
    found = await info.context.loaders.referral_by_id.load(id)
    return None if found is None else types.Referral.from_model(found)


async def list_referrals(
    info: Info, status: ReferralStatus | None, professional_id: str | None,
    referrer_id: str | None, first: int | None, after: str | None,
) -> types.ReferralConnection:
    page = page_request(info, first, after, TIME_KEY)
    result = await guarded(referrals.list_referrals(
        info.context.store, page, None if status is None else ReferralStatus(status),
        professional_id, referrer_id,
    ))
    return types.ReferralConnection.of(result, types.Referral.from_model)


def _payload(r: object, errors: list) -> types.ReferralPayload:
    return types.ReferralPayload(
        referral=None if r is None else types.Referral.from_model(r), errors=errors
    )


async def create_referral(info: Info, data: types.CreateReferralInput) -> types.ReferralPayload:
    new = referrals.NewReferral(
        referrer_id=data.referrer_id, professional_id=data.professional_id,
        referee_id=data.referee_id, note=data.note, id=data.id,
    )
    return await mutate(lambda: referrals.create_referral(info.context.store, new), _payload)


async def update_referral_status(
    info: Info, data: types.UpdateReferralStatusInput
) -> types.ReferralPayload:
    return await mutate(
        lambda: referrals.update_status(
            info.context.store, data.id, ReferralStatus(data.status), data.job_id
        ),
        _payload,
    )
