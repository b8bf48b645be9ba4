"""Resolvers of Customer and its queries and mutations."""

from __future__ import annotations

import strawberry

from graph import access, customers, models, shapes
from graph.lists import ListKey
from resolvers import job as job_resolvers
from resolvers import permissions
from resolvers import referral as referral_resolvers
from resolvers.common import ID_KEY, TIME_KEY, mutate, page_ahead, page_request, wants_total
from resolvers.context import Info
from resolvers.loaders import MISSING, cached
from resolvers.permissions import ensure, forbidden, require, viewer

# The schema modules import these resolvers; their names are looked up at call time.
from schema import common as common_types
from schema import customer as types
from schema import job as job_types
from schema import referral as referral_types

# The schema's default of Customer.jobs(first:); tests check it against the served schema.
JOBS_FIRST_DEFAULT = 20


async def customer(info: Info, id: str) -> types.Customer | None:
    """A customer by id: itself, admins, and professionals it hired."""
    principal = viewer(info)
    loaders = info.context.loaders
    key = None
    if access.can_read_party_private(principal, id):
        key = page_ahead(info, id, "jobs", JOBS_FIRST_DEFAULT)
    if key is not None and cached(loaders.customer_by_id, id) is MISSING:
        # The customer with its newest jobs: one statement instead of two trips.
        loaders.prime_customer_with_jobs(
            id, key, await shapes.customer_with_jobs(info.context.store, id, key))
    found = await loaders.customer_by_id.load(id)
    if found is None:
        if principal.admin:
            return None
        raise forbidden()
    require(access.can_read_customer(principal, id, await permissions.hired(info, id)))
    return types.Customer.from_model(found)


async def nameable(info: Info, customer_id: str) -> bool:
    """Whether the viewer may name this customer in a query (a trust path's target): it exists,
    is not erased and the viewer may read it. Callers refuse the other three cases alike."""
    found = await info.context.loaders.customer_by_id.load(customer_id)
    if found is None or found.erased:
        return False
    return access.can_read_customer(viewer(info), customer_id,
                                    await permissions.hired(info, customer_id))


async def related(info: Info, customer_id: str) -> types.Customer:
    """A customer reached through an object the viewer may read (a job or a referral); its
    private fields keep their own checks."""
    found = await info.context.loaders.customer_by_id.load(customer_id)
    assert found is not None, customer_id  # referenced by a relationship
    return types.Customer.from_model(found)


async def _sees_private(info: Info, m: models.Customer) -> bool:
    return access.can_see_customer_name(viewer(info), m.id, await permissions.hired(info, m.id))


async def name(info: Info, m: models.Customer) -> str:
    return m.name if await _sees_private(info, m) else display_name(m)


async def area(info: Info, m: models.Customer) -> str | None:
    return m.area if await _sees_private(info, m) else None


def display_name(m: models.Customer) -> str:
    return m.name if m.erased else access.display_name(m.name)


async def list_customers(
    info: Info, first: int | None, after: str | None
) -> types.CustomerConnection:
    require(viewer(info).admin)
    page = page_request(info, first, after, ID_KEY)
    result = await customers.list_customers(info.context.store, page, wants_total(info))
    return types.CustomerConnection.of(result, types.Customer.from_model)


async def jobs(
    info: Info, customer_id: str, first: int | None, after: str | None
) -> job_types.JobConnection:
    require(access.can_read_party_private(viewer(info), customer_id))
    key = ListKey(customer_id, page_request(info, first, after, TIME_KEY),
                  total=wants_total(info))
    page = await info.context.loaders.jobs_by_customer.load(key)
    return job_resolvers.connection(info, page)


async def referrals(
    info: Info, which: str, customer_id: str, first: int | None, after: str | None
) -> referral_types.ReferralConnection:
    require(access.can_read_party_private(viewer(info), customer_id))
    key = ListKey(customer_id, page_request(info, first, after, TIME_KEY),
                  total=wants_total(info))
    loaders = info.context.loaders
    loader = (
        loaders.referrals_made_by_customer if which == "made"
        else loaders.referrals_received_by_customer
    )
    return referral_resolvers.connection(info, await loader.load(key))


async def create_customer(info: Info, data: types.CreateCustomerInput) -> types.CustomerPayload:
    new = customers.NewCustomer(name=data.name, area=data.area, id=data.id)

    async def run() -> models.Customer:
        ensure(viewer(info).admin, ["input"])
        return await customers.create_customer(info.context.store, new)

    return await mutate(
        run,
        lambda c, errors: types.CustomerPayload(
            customer=None if c is None else types.Customer.from_model(c), errors=errors
        ),
    )


async def delete_customer(info: Info, id: str) -> common_types.DeletePayload:
    async def run() -> str:
        ensure(access.can_erase_customer(viewer(info), id), ["id"])
        return await customers.erase_customer(info.context.store, id)

    return await mutate(
        run,
        lambda deleted, errors: common_types.DeletePayload(
            deleted_id=None if deleted is None else strawberry.ID(deleted), errors=errors
        ),
    )
