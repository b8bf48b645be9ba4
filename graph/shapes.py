"""Common request shapes read in one statement.

A professional asked for with its newest received referrals (the profile page's question), or
a customer with its newest jobs, would take two round trips through the loaders: the owner,
then its page with the parties of each row. The functions here read both in one statement;
the resolvers hand the parts to the same loaders, so the fields below resolve from the loader
cache exactly as on the two-trip path.

Each statement is the owner's lookup followed by the loader's own batched page query for one
key, so the page's rows, order, cut and total are those of the loader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from graph.customers import CUSTOMER_MAP
from graph.jobs import JOBS_OF_CUSTOMERS, _job_key
from graph.lists import ListKey, ListQuery
from graph.models import Customer, Job, Professional, Referral
from graph.pagination import Page, make_page
from graph.professionals import PROFESSIONAL_MAP
from graph.referrals import LIST_QUERIES, _referral_key
from graph.store import Row, Store

OwnerT = TypeVar("OwnerT")
T = TypeVar("T")

# Where a batched page query returns its rows; the owner joins them there.
_PAGE_RETURN = "RETURN k.i AS i,"


def _after_owner(owner: str, page: str) -> str:
    """``page`` (a batched list query over ``$keys``) preceded by ``owner``, a lookup that
    binds ``owner`` (a map) from ``$id``."""
    head, marker, tail = page.rpartition(_PAGE_RETURN)
    assert marker, "the page query's RETURN moved"
    return f"{owner}\n{head}RETURN owner, k.i AS i,{tail}"


def _shape(owner: str, query: ListQuery) -> ListQuery:
    return ListQuery(with_total=_after_owner(owner, query.with_total),
                     without_total=_after_owner(owner, query.without_total))


PROFESSIONAL_WITH_RECEIVED = _shape(
    f"MATCH (p:Professional {{id: $id}})\nWITH {PROFESSIONAL_MAP} AS owner",
    LIST_QUERIES["received"])
CUSTOMER_WITH_JOBS = _shape(
    f"MATCH (c:Customer {{id: $id}})\nWITH {CUSTOMER_MAP} AS owner", JOBS_OF_CUSTOMERS)


@dataclass(frozen=True)
class OwnerWithPage(Generic[OwnerT, T]):
    owner: OwnerT | None
    page: Page[T] | None  # None when there is no such owner


async def _owner_with_page(
    store: Store, query: ListQuery, owner_id: str, key: ListKey,
    owner_of: Callable[[Row], OwnerT], item_of: Callable[[Row], T],
    cursor_key: Callable[[T], Sequence[str]],
) -> OwnerWithPage[OwnerT, T]:
    assert key.owner == owner_id
    text = query.with_total if key.total else query.without_total
    rows = await store.read(text, id=owner_id, keys=[key.param(0)], limit=key.page.first + 1)
    if not rows:
        return OwnerWithPage(None, None)
    row = rows[0]
    items = [item_of(item) for item in row["rows"]][: key.page.first + 1]
    return OwnerWithPage(owner_of(row["owner"]),
                         make_page(items, key.page, row["total"], cursor_key))


async def professional_with_received(
    store: Store, professional_id: str, key: ListKey
) -> OwnerWithPage[Professional, Referral]:
    """The professional and the page ``key`` of the referrals it received, one round trip."""
    return await _owner_with_page(store, PROFESSIONAL_WITH_RECEIVED, professional_id, key,
                                  Professional.from_row, Referral.from_row, _referral_key)


async def customer_with_jobs(
    store: Store, customer_id: str, key: ListKey
) -> OwnerWithPage[Customer, Job]:
    """The customer and the page ``key`` of its jobs, one round trip."""
    return await _owner_with_page(store, CUSTOMER_WITH_JOBS, customer_id, key,
                                  Customer.from_row, Job.from_row, _job_key)
