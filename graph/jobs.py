"""Jobs: completed work of a customer with a professional, the verified experience behind trust."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from graph import rules, timeutil
from graph.errors import NotFound, ValidationError
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id
from graph.lists import ListKey, fetch_pages, newest_first, party_map, with_parties
from graph.models import Job
from graph.pagination import Page
from graph.store import Store, Tx

JOB_MAP = """x {.id, .trade, .completedAt, .rating, .value,
  customerId: head([(x)<-[:BOOKED]-(c:Customer) | c.id]),
  professionalId: head([(x)-[:DONE_BY]->(p:Professional) | p.id]),
  referralId: head([(x)<-[:CONVERTED_TO]-(r:Referral) | r.id])}"""

JOB_BY_ID = f"MATCH (x:Job {{id: $id}}) RETURN {JOB_MAP} AS row"

JOBS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (x:Job {{id: id}})
RETURN {JOB_MAP} AS row
"""

JOB_PARTIES = """
OPTIONAL MATCH (c:Customer {id: $customerId})
OPTIONAL MATCH (p:Professional {id: $professionalId})
RETURN c IS NOT NULL AS customer, p.trades AS trades
"""

CREATE_JOB = """
MATCH (c:Customer {id: $customerId}), (p:Professional {id: $professionalId})
CREATE (c)-[:BOOKED]->(x:Job {id: $id, trade: $trade, completedAt: $completedAt,
                              rating: $rating, value: $value, createdAt: $now})-[:DONE_BY]->(p)
"""

JOB_PAGE_MAP = with_parties(JOB_MAP, [
    f"head([(x)<-[:BOOKED]-(c:Customer) | {party_map('c')}])",
    f"head([(x)-[:DONE_BY]->(p:Professional) | {party_map('p')}])",
])
JOBS_OF_PROFESSIONALS = newest_first(
    "(:Professional {id: k.owner})<-[:DONE_BY]-(x:Job)", "completedAt", JOB_PAGE_MAP
)
JOBS_OF_CUSTOMERS = newest_first(
    "(:Customer {id: k.owner})-[:BOOKED]->(x:Job)", "completedAt", JOB_PAGE_MAP
)


@dataclass(frozen=True)
class NewJob:
    customer_id: str
    professional_id: str
    completed_at: datetime
    trade: str | None = None
    rating: int | None = None
    value: float | None = None
    id: str | None = None


async def record_job(store: Store, data: NewJob) -> Job:
    node_id = client_or_new_id(data.id, "Job", ["input", "id"])
    customer_id = check_id(data.customer_id, "Customer", ["input", "customerId"])
    professional_id = check_id(data.professional_id, "Professional", ["input", "professionalId"])
    completed_at = timeutil.to_store(rules.check_past(data.completed_at, ["input", "completedAt"]))
    rating = rules.check_rating(data.rating, ["input", "rating"])
    value = rules.check_value(data.value, ["input", "value"])
    asked_trade = None if data.trade is None else rules.clean_trade(data.trade, ["input", "trade"])

    async def create(tx: Tx) -> None:
        parties = await tx.one(JOB_PARTIES, customerId=customer_id, professionalId=professional_id)
        assert parties is not None
        if not parties["customer"]:
            raise NotFound(f"no customer {customer_id}", ["input", "customerId"])
        trades = parties["trades"]
        if trades is None:
            raise NotFound(f"no professional {professional_id}", ["input", "professionalId"])
        trade = trades[0] if asked_trade is None else asked_trade
        if trade not in trades:
            raise ValidationError(
                f"{trade!r} is not one of the professional's trades ({', '.join(trades)})",
                ["input", "trade"],
            )
        await tx.run(
            CREATE_JOB, id=node_id, customerId=customer_id, professionalId=professional_id,
            trade=trade, completedAt=completed_at, rating=rating, value=value,
            now=timeutil.to_store(timeutil.now()),
        )

    same: dict[str, object] = {
        "customerId": customer_id,
        "professionalId": professional_id,
        "completedAt": completed_at,
        "rating": rating,
        "value": value,
    }
    if asked_trade is not None:
        same["trade"] = asked_trade
    return await create_once(
        store, label="Job", node_id=node_id, read=JOB_BY_ID, create=create, same=same,
        convert=Job.from_row,
    )


async def jobs_by_ids(store: Store, ids: Sequence[str]) -> list[Job | None]:
    rows = await store.read(JOBS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Job.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


def _job_key(job: Job) -> tuple[str, str]:
    return (timeutil.to_store(job.completed_at), job.id)


async def jobs_of_professionals(store: Store, keys: Sequence[ListKey]) -> list[Page[Job]]:
    return await fetch_pages(store, JOBS_OF_PROFESSIONALS, keys, Job.from_row, _job_key)


async def jobs_of_customers(store: Store, keys: Sequence[ListKey]) -> list[Page[Job]]:
    return await fetch_pages(store, JOBS_OF_CUSTOMERS, keys, Job.from_row, _job_key)
