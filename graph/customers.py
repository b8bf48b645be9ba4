"""Customers: create, look up by id, and list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph import rules, timeutil
from graph.errors import NotFound
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id
from graph.lists import ListKey, fetch_id_window_page, windowed_by_id
from graph.models import Customer
from graph.pagination import Page, PageRequest
from graph.store import Store, Tx

CUSTOMER_MAP = "c {.id, .name, .area, .createdAt, .erased}"

CUSTOMER_BY_ID = f"MATCH (c:Customer {{id: $id}}) RETURN {CUSTOMER_MAP} AS row"

CUSTOMERS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (c:Customer {{id: id}})
RETURN {CUSTOMER_MAP} AS row
"""

CREATE_CUSTOMER = """
CREATE (c:Customer {id: $id, name: $name, area: $area, createdAt: $now})
"""

# Over all customers, read in widening id windows (see graph.lists).
ALL_CUSTOMERS = windowed_by_id("Customer", "x {.id, .name, .area, .createdAt, .erased}")


# Hired means a confirmed job: a job the professional merely recorded proves nothing.
HIRED_PAIRS = """
UNWIND $pairs AS pair
MATCH (c:Customer {id: pair[0]})
RETURN pair[0] AS customer, pair[1] AS professional,
       size([(c)-[:BOOKED]->(j:Job)-[:DONE_BY]->(p:Professional)
             WHERE p.id = pair[1] AND j.confirmed = true | 1]) > 0 AS hired
"""

ERASED_NAME = "Erased customer"

CUSTOMER_EXISTS = "MATCH (c:Customer {id: $id}) RETURN c.id AS id"
CUSTOMER_ERASED = "MATCH (c:Customer {id: $id}) WHERE c.erased = true RETURN c.id AS id"
CLEAR_NOTES_MADE = "MATCH (:Customer {id: $id})-[:MADE]->(r:Referral) REMOVE r.note"
CLEAR_NOTES_RECEIVED = "MATCH (:Customer {id: $id})<-[:INTRODUCES]-(r:Referral) REMOVE r.note"
ERASE_CUSTOMER = """
MATCH (c:Customer {id: $id})
SET c.name = $name, c.erased = true, c.erasedAt = coalesce(c.erasedAt, $now)
REMOVE c.area
"""


@dataclass(frozen=True)
class NewCustomer:
    name: str
    area: str | None = None
    id: str | None = None


async def create_customer(store: Store, data: NewCustomer) -> Customer:
    node_id = client_or_new_id(data.id, "Customer", ["input", "id"])
    name = rules.clean_name(data.name, ["input", "name"])
    area = rules.clean_area(data.area, ["input", "area"])

    async def create(tx: Tx) -> None:
        now = timeutil.to_store(timeutil.now())
        await tx.run(CREATE_CUSTOMER, id=node_id, name=name, area=area, now=now)

    return await create_once(
        store,
        label="Customer",
        node_id=node_id,
        read=CUSTOMER_BY_ID,
        create=create,
        same={"name": name, "area": area},
        # An erased customer's id stays taken for good: re-creating it would bring back a
        # party whose data was erased, and its answer would tell the id was erased.
        readable=lambda row: not row.get("erased"),
        convert=Customer.from_row,
    )


async def customers_by_ids(store: Store, ids: Sequence[str]) -> list[Customer | None]:
    rows = await store.read(CUSTOMERS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Customer.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


async def list_customers(store: Store, page: PageRequest, total: bool = True) -> Page[Customer]:
    key = ListKey(None, page, total=total)
    return await fetch_id_window_page(
        store, ALL_CUSTOMERS, key, {}, Customer.from_row, lambda c: c.id
    )


async def hired_pairs(store: Store, pairs: Sequence[tuple[str, str]]) -> list[bool]:
    """For each (customer, professional): whether the customer hired the professional (a
    confirmed job)."""
    rows = await store.read(HIRED_PAIRS, pairs=[list(p) for p in pairs])
    found = {(r["customer"], r["professional"]): bool(r["hired"]) for r in rows}
    return [found.get((p[0], p[1]), False) for p in pairs]


async def erase_customer(store: Store, customer_id: str) -> str:
    """Erase a customer's personal data, keeping an anonymous tombstone.

    The node keeps its id and relationships, so counts, balances and histories stay right; its
    name becomes a fixed placeholder, its area goes, and so do the notes of the referrals it made
    or received, which are free text about it. Trust paths never pass through a tombstone.
    """
    check_id(customer_id, "Customer", ["id"])

    async def work(tx: Tx) -> str:
        if await tx.one(CUSTOMER_EXISTS, id=customer_id) is None:
            raise NotFound(f"no customer {customer_id}", ["id"])
        await tx.run(CLEAR_NOTES_MADE, id=customer_id)
        await tx.run(CLEAR_NOTES_RECEIVED, id=customer_id)
        await tx.run(ERASE_CUSTOMER, id=customer_id, name=ERASED_NAME,
                     now=timeutil.to_store(timeutil.now()))
        return customer_id

    try:
        return await store.write(work)
    finally:
        # Counted whatever the outcome: a commit under way when the budget ran out may still
        # land, and asking again about a customer who was not erased costs only a lookup.
        store.erasures += 1
        for listener in store.after_erasure:
            listener()


async def is_erased(store: Store, customer_id: str) -> bool:
    """Whether the customer was erased (an unknown id is not)."""
    return bool(await store.read(CUSTOMER_ERASED, id=customer_id))
