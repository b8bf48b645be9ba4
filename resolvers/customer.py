"""Resolvers of Customer and its queries and mutations."""

from __future__ import annotations

from graph import access, customers, models, shapes
from graph.lists import ListKey
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import job as job_resolvers
from resolvers import permissions
from resolvers import referral as referral_resolvers
from resolvers.common import ID_KEY, TIME_KEY, mutate, page_ahead, page_request, wants_total
from resolvers.context import Info
from resolvers.loaders import MISSING, cached
from resolvers.permissions import ensure, forbidden, require, viewer

# The schema's default of Customer.jobs(first:); tests check it against the served schema.
JOBS_FIRST_DEFAULT = 20


async def customer(info: Info, id: str) -> models.Customer | None:
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
    return found


async def nameable(info: Info, customer_id: str) -> bool:
    """Whether the viewer may name this customer in a query (a trust path's target): it exists,
    is not erased and the viewer may read it. Callers refuse the other three cases alike."""
    found = await info.context.loaders.customer_by_id.load(customer_id)
    if found is None or found.erased:
        return False
    return access.can_read_customer(viewer(info), customer_id,
                                    await permissions.hired(info, customer_id))


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
) -> Page[models.Customer]:
    require(viewer(info).admin)
    request = page_request(info, first, after, ID_KEY)
    return await customers.list_customers(info.context.store, request, wants_total(info))


async def jobs(
    info: Info, customer_id: str, first: int | None, after: str | None
) -> Page[models.Job]:
    require(access.can_read_party_private(viewer(info), customer_id))
    key = ListKey(customer_id, page_request(info, first, after, TIME_KEY),
                  total=wants_total(info))
    return job_resolvers.page(info, await info.context.loaders.jobs_by_customer.load(key))


async def referrals(
    info: Info, which: str, customer_id: str, first: int | None, after: str | None
) -> Page[models.Referral]:
    require(access.can_read_party_private(viewer(info), customer_id))
    key = ListKey(customer_id, page_request(info, first, after, TIME_KEY),
                  total=wants_total(info))
    loaders = info.context.loaders
    loader = (
        loaders.referrals_made_by_customer if which == "made"
        else loaders.referrals_received_by_customer
    )
    return referral_resolvers.page(info, await loader.load(key))


async def create_customer(info: Info, new: customers.NewCustomer) -> Outcome[models.Customer]:
    async def run() -> models.Customer:
        ensure(viewer(info).admin, ["input"])
        return await customers.create_customer(info.context.store, new)

    return await mutate(run)


async def delete_customer(info: Info, id: str) -> Outcome[str]:
    async def run() -> str:
        ensure(access.can_erase_customer(viewer(info), id), ["id"])
        return await customers.erase_customer(info.context.store, id)

    return await mutate(run)
