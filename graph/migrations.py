"""Start-up migrations: bring a store written by an older version to the current shape.

:func:`migrate` runs right after :meth:`graph.store.Store.ensure_schema`, at every start. Each
step is idempotent and finds its own work (nodes still in the old shape), so it needs no record
of what ran: on a current store every step is one bounded statement that changes nothing. Large
stores are changed in batches of ``BATCH`` nodes, one transaction per batch, so that no
transaction holds the whole store (the embedded store has no ``CALL { ... } IN TRANSACTIONS``).

To add a step, write ``async def step(store: Store) -> int`` (how many nodes it changed) next to
the data it migrates and append it to :data:`STEPS`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from graph import timeutil
from graph.store import Store

log = logging.getLogger(__name__)

BATCH = 10_000

# Jobs written before jobs needed their customer's confirmation were all taken as verified; they
# stay so: confirmed when they were completed (or now, when that is unknown).
CONFIRM_OLD_JOBS = """
MATCH (x:Job)
WHERE x.confirmed IS NULL
WITH x LIMIT $batch
SET x.confirmed = true, x.rejected = false,
    x.confirmedAt = coalesce(x.completedAt, $now),
    x.recordedRating = coalesce(x.recordedRating, x.rating)
RETURN count(x) AS changed
"""

# Memberships written before statuses existed were all memberships: they become ACTIVE.
MIGRATE_MEMBERSHIPS = """
MATCH (:Professional)-[m:MEMBER_OF]->(:Network)
WHERE m.status IS NULL
WITH m LIMIT $batch
SET m.status = 'ACTIVE'
RETURN count(m) AS changed
"""


async def in_batches(store: Store, statement: str, **params: object) -> int:
    """Run ``statement`` (taking ``$batch``, returning ``changed``) until it changes nothing."""
    total = 0
    while True:
        rows = await store.run_write(statement, batch=BATCH, **params)
        changed = int(rows[0]["changed"]) if rows else 0
        total += changed
        if changed < BATCH:
            return total


async def confirm_old_jobs(store: Store) -> int:
    """Jobs without ``confirmed`` become confirmed jobs."""
    return await in_batches(store, CONFIRM_OLD_JOBS, now=timeutil.to_store(timeutil.now()))


async def migrate_memberships(store: Store) -> int:
    """Memberships without a status become active ones."""
    return await in_batches(store, MIGRATE_MEMBERSHIPS)


# riskyProfessionals reads `WHERE p.riskScore >= $min` from this index, not from the label.
RISK_SCORE_INDEX = (
    "CREATE INDEX professional_risk_score IF NOT EXISTS FOR (n:Professional) ON (n.riskScore)"
)


async def index_risk_scores(store: Store) -> int:
    """The index on ``Professional.riskScore`` (the integrity batch writes the scores)."""
    await store.run_write(RISK_SCORE_INDEX)
    return 0


# Conversions written before a converted referral kept its days and value: the days are taken
# here from its first and last status times, as the API takes them when it converts.
UNCONVERTED_FIGURES = """
MATCH (x:Referral)
WHERE x.status = 'CONVERTED' AND x.convertedDays IS NULL AND size(x.statusTimes) > 1
RETURN x.id AS id, x.statusTimes AS times
LIMIT $batch
"""
SET_CONVERTED_FIGURES = """
UNWIND $rows AS row
MATCH (x:Referral {id: row.id})
SET x.convertedDays = row.days,
    x.convertedValue = coalesce(head([(x)-[:CONVERTED_TO]->(j:Job) | j.value]), 0.0)
"""


async def store_converted_figures(store: Store) -> int:
    """Converted referrals without ``convertedDays`` get it, and ``convertedValue``."""
    total = 0
    while rows := await store.read(UNCONVERTED_FIGURES, batch=BATCH):
        await store.run_write(SET_CONVERTED_FIGURES, rows=[
            {"id": r["id"], "days": timeutil.days_between(r["times"][0], r["times"][-1])}
            for r in rows])
        total += len(rows)
    return total


# Referrals written before a referral kept its parties' ids (and its job's) as properties, which
# exports read instead of walking the relationships.
REFERRAL_PARTY_IDS = """
MATCH (x:Referral)
WHERE x.professionalId IS NULL
WITH x LIMIT $batch
WITH x, head([(x)<-[:MADE]-(a) | a.id]) AS referrerId,
     head([(x)-[:FOR]->(p:Professional) | p.id]) AS professionalId,
     head([(x)-[:INTRODUCES]->(c:Customer) | c.id]) AS refereeId,
     head([(x)-[:CONVERTED_TO]->(j:Job) | j.id]) AS jobId
SET x.referrerId = referrerId, x.professionalId = professionalId, x.refereeId = refereeId,
    x.jobId = jobId
RETURN count(x) AS changed
"""


async def keep_referral_party_ids(store: Store) -> int:
    """Referrals without ``professionalId`` get their parties' and job's ids."""
    return await in_batches(store, REFERRAL_PARTY_IDS)


Step = Callable[[Store], Awaitable[int | None]]

# The steps, oldest first.
STEPS: tuple[tuple[str, Step], ...] = (
    ("confirm jobs recorded before confirmation", confirm_old_jobs),
    ("memberships without a status become ACTIVE", migrate_memberships),
    ("index professionals' risk scores", index_risk_scores),
    ("converted referrals keep their days and value", store_converted_figures),
    ("referrals keep their parties' ids", keep_referral_party_ids),
)


async def migrate(store: Store) -> dict[str, int]:
    """Run every step; what each changed, by name (nothing, on a current store).

    The steps find their work with unindexed scans, which on a large store outlast the per-call
    budget: they run with the batch budget, as bulk loads do."""
    done: dict[str, int] = {}
    with store.batch():
        for name, step in STEPS:
            changed = await step(store) or 0
            done[name] = changed
            if changed:
                log.info("store migrated", extra={"step": name, "changed": changed})
    return done
