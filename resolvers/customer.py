"""Resolvers of Customer and its queries and mutations."""

from __future__ import annotations

from graph import customers
from graph.lists import ListKey
from resolvers.common import ID_KEY, TIME_KEY, mutate, page_request
from resolvers.context import Info

# The schema modules import these resolvers; their names are looked up at call time.
from schema import customer as types
from schema import job as job_types
from schema import referral as referral_types


async def customer(info: Info, id: str) -> types.Customer | None:
    found = await info.context.loaders.customer_by_id.load(id)
    return None if found is None else types.Customer.from_model(found)


async def list_customers(info: Info, first: int | None, after: str | None) -> types.CustomerConnection:
    page = page_request(info, first, after, ID_KEY)
    result = await customers.list_customers(info.context.store, page)
    return types.CustomerConnection.of(result, types.Customer.from_model)


async def jobs(
    info: Info, customer_id: str, first: int | None, after: str | None
) -> job_types.JobConnection:
    key = ListKey(customer_id, page_request(info, first, after, TIME_KEY))
    page = await info.context.loaders.jobs_by_customer.load(key)
    return job_types.JobConnection.of(page, job_types.Job.from_model)


async def referrals(
    info: Info, which: str, customer_id: str, first: int | None, after: str | None
) -> referral_types.ReferralConnection:
    key = ListKey(customer_id, page_request(info, first, after, TIME_KEY))
    loaders = info.context.loaders
    loader = (
        loaders.referrals_made_by_customer if which == "made"
        else loaders.referrals_received_by_customer
    )
    return referral_types.ReferralConnection.of(
        await loader.load(key), referral_types.Referral.from_model
    )


async def create_customer(info: Info, data: types.CreateCustomerInput) -> types.CustomerPayload:
    new = customers.NewCustomer(name=data.name, area=data.area, id=data.id)
    return await mutate(
        lambda: customers.create_customer(info.context.store, new),
        lambda c, errors: types.CustomerPayload(
            customer=None if c is None else types.Customer.from_model(c), errors=errors
        ),
    )
