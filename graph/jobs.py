"""Jobs: completed work of a customer with a professional, the verified experience behind trust.

A job an admin records (imports and seeds too) is confirmed at once. A job a professional records
is its claim until the job's customer confirms it, with the customer's own rating, or rejects it.
Only confirmed jobs are verified experiences: every query that treats a job as evidence (trust
hops, reputation, co-hiring, ``Referral.verified``, the right to the customer's name, conversions)
filters on ``confirmed = true``. ``recordedRating`` keeps the recorder's rating, so that a repeat
of the create still matches after the customer's rating replaced it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from graph import rules, timeutil
from graph.access import Principal, can_read_job
from graph.errors import InvalidTransition, NotFound, ValidationError
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id
from graph.lists import ListKey, fetch_pages, newest_first, party_map, with_parties
from graph.models import Job
from graph.pagination import Page
from graph.store import ConstraintError, Row, Store, Tx

JOB_MAP = """x {.id, .trade, .completedAt, .rating, .value, .recordedRating, .confirmed,
  .confirmedAt, .rejected,
  customerId: head([(x)<-[:BOOKED]-(c:Customer) | c.id]),
  professionalId: head([(x)-[:DONE_BY]->(p:Professional) | p.id]),
  referralId: head([(x)<-[:CONVERTED_TO]-(r:Referral) | r.id])}"""

JOB_BY_ID = f"MATCH (x:Job {{id: $id}}) RETURN {JOB_MAP} AS row"

JOBS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (x:Job {{id: id}})
RETURN {JOB_MAP} AS row
"""

# Fixed words, without the id: an unknown and an erased customer give byte-identical errors.
NO_CUSTOMER = "no customer with this id"
NO_PROFESSIONAL = "no professional with this id"

JOB_PARTIES = """
OPTIONAL MATCH (c:Customer {id: $customerId})
OPTIONAL MATCH (p:Professional {id: $professionalId})
RETURN c IS NOT NULL AND c.erased IS NULL AS customer, p.trades AS trades
"""

CREATE_JOB = """
MATCH (c:Customer {id: $customerId}), (p:Professional {id: $professionalId})
CREATE (c)-[:BOOKED]->(x:Job {id: $id, trade: $trade, completedAt: $completedAt,
                              rating: $rating, recordedRating: $rating, value: $value,
                              createdAt: $now, confirmed: $confirmed, confirmedAt: $confirmedAt,
                              rejected: false})-[:DONE_BY]->(p)
"""

# Confirming and rejecting each claim the job's one decision: of two concurrent decisions the
# unique key lets one commit (the embedded store would otherwise commit both).
CLAIM_DECISION = """
MATCH (x:Job {id: $id})
CREATE (x)-[:CLAIMED]->(:Claim {key: $key, at: $now})
"""
CONFIRM_JOB = """
MATCH (x:Job {id: $id})
SET x.confirmed = true, x.confirmedAt = $now, x.rating = $rating
"""
REJECT_JOB = """
MATCH (x:Job {id: $id})
SET x.rejected = true, x.rejectedAt = $now, x.rejectedReason = $reason
"""
# A confirmed job makes verified the referrals its customer made for its professional after it
# was completed; nothing ever unsets verified.
VERIFY_REFERRALS = """
MATCH (x:Job {id: $id})
WITH x, head([(x)<-[:BOOKED]-(c:Customer) | c]) AS c,
     head([(x)-[:DONE_BY]->(p:Professional) | p]) AS p
MATCH (c)-[:MADE]->(r:Referral)-[:FOR]->(p)
WHERE r.createdAt > x.completedAt AND NOT coalesce(r.verified, false)
SET r.verified = true
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


async def record_job(
    store: Store, data: NewJob, confirmed: bool = False, viewer: Principal | None = None
) -> Job:
    """Record a job; ``confirmed`` for an admin's record, else it waits for its customer.
    ``viewer`` is the caller, when it may not read every job: a re-used id of a job it may not
    read is a CONFLICT that says only that the id is taken."""
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
            # An erased customer is no party to new jobs; it looks exactly like an unknown one.
            raise NotFound(NO_CUSTOMER, ["input", "customerId"])
        trades = parties["trades"]
        if trades is None:
            raise NotFound(NO_PROFESSIONAL, ["input", "professionalId"])
        trade = trades[0] if asked_trade is None else asked_trade
        if trade not in trades:
            raise ValidationError(
                f"{trade!r} is not one of the professional's trades ({', '.join(trades)})",
                ["input", "trade"],
            )
        now = timeutil.to_store(timeutil.now())
        await tx.run(
            CREATE_JOB, id=node_id, customerId=customer_id, professionalId=professional_id,
            trade=trade, completedAt=completed_at, rating=rating, value=value, now=now,
            confirmed=confirmed, confirmedAt=now if confirmed else None,
        )
        if confirmed:
            await tx.run(VERIFY_REFERRALS, id=node_id)

    same: dict[str, object] = {
        "customerId": customer_id,
        "professionalId": professional_id,
        "completedAt": completed_at,
        "recordedRating": rating,
        "value": value,
    }
    if asked_trade is not None:
        same["trade"] = asked_trade

    def readable(row: Row) -> bool:
        return viewer is None or can_read_job(viewer, row["customerId"], row["professionalId"])

    return await create_once(
        store, label="Job", node_id=node_id, read=JOB_BY_ID, create=create, same=same,
        convert=Job.from_row, readable=readable, field_names={"recordedRating": "rating"},
    )


async def confirm_job(store: Store, job_id: str, rating: int | None) -> Job:
    """The customer (or an admin) confirms a job; ``rating`` replaces the recorded one.

    Confirming a confirmed job again with the same rating changes nothing and returns it; with
    another rating it is ``INVALID_TRANSITION`` (a confirmed job's rating is final). A rejected
    job can never be confirmed.
    """
    check_id(job_id, "Job", ["id"])
    rating = rules.check_rating(rating, ["rating"])

    async def work(tx: Tx) -> Job:
        current = await _current(tx, job_id)
        if current.rejected:
            raise InvalidTransition("a rejected job cannot be confirmed", ["id"])
        if current.confirmed:
            if current.rating == rating:
                return current
            raise InvalidTransition(
                "the job is already confirmed and its rating is final", ["rating"]
            )
        now = timeutil.to_store(timeutil.now())
        await tx.run(CLAIM_DECISION, id=job_id, key=f"{job_id}|decided", now=now)
        await tx.run(CONFIRM_JOB, id=job_id, rating=rating, now=now)
        await tx.run(VERIFY_REFERRALS, id=job_id)
        return await _current(tx, job_id)

    return await _decide(store, work)


async def reject_job(store: Store, job_id: str, reason: str | None) -> Job:
    """The customer (or an admin) says the job did not happen: kept, but it counts nowhere.

    Rejecting a rejected job again changes nothing (the first reason stays); a confirmed job
    cannot be rejected.
    """
    check_id(job_id, "Job", ["id"])
    reason = rules.clean_note(reason, ["reason"])

    async def work(tx: Tx) -> Job:
        current = await _current(tx, job_id)
        if current.confirmed:
            raise InvalidTransition("a confirmed job cannot be rejected", ["id"])
        if current.rejected:
            return current
        now = timeutil.to_store(timeutil.now())
        await tx.run(CLAIM_DECISION, id=job_id, key=f"{job_id}|decided", now=now)
        await tx.run(REJECT_JOB, id=job_id, reason=reason, now=now)
        return await _current(tx, job_id)

    return await _decide(store, work)


async def _current(tx: Tx, job_id: str) -> Job:
    row = await tx.one(JOB_BY_ID, id=job_id)
    if row is None:
        raise NotFound(f"no job {job_id}", ["id"])
    return Job.from_row(row["row"])


async def _decide(store: Store, work: Callable[[Tx], Awaitable[Job]]) -> Job:
    try:
        return await store.write(work)
    except ConstraintError:
        # A concurrent decision won the claim; deciding again against what it committed makes
        # a repeat of the same decision idempotent and a contrary one INVALID_TRANSITION.
        return await store.write(work)


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
