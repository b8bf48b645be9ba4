"""The integrity batch: read the detection projection, find risk, store it on the nodes.

Runs inside the analytics refresh (``graph.analytics._compute``), after reputation and
complementarity, under the same lease. ``read`` pages through professionals like the other
jobs (each statement anchored on a page of ids, so no answer holds the whole graph),
``compute`` is :func:`graph.algorithms.integrity.assess` in a thread, ``write`` stores the
scores in the shared format:

- ``riskScore`` (float in (0, 1]) and ``riskFindings`` (a JSON array, strongest first, of
  ``{signal, strength, explanation, involved}``) on flagged ``Professional`` and covered
  ``Referral`` nodes; nodes no longer flagged lose both first, so a cleared pattern disappears;
- one ``(:RiskRun {key: "integrity", at})`` node saying when the batch last wrote.

The API reads these (``graph.risk``); nothing here reads them for a request.
"""

from __future__ import annotations

import json
from typing import Any

from graph import rewards, timeutil
from graph.algorithms import integrity as algorithms
from graph.analytics import NOT_FRAUD_JOB, paged, professional_ids
from graph.store import Row, Store

BATCH = 5000
RUN_KEY = "integrity"

# Per page of named professionals: their referrals, by kind of referrer (a label test in the
# pattern reads the same on both stores), with the referee's creation and whether the
# referral converted into a confirmed job.
_REFERRALS = """
UNWIND $ids AS id
MATCH (p:Professional {{id: id}})<-[:FOR]-(r:Referral)<-[:MADE]-(a:{label})
MATCH (r)-[:INTRODUCES]->(c:Customer)
OPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)
RETURN r.id AS id, a.id AS referrer, p.id AS professional, c.id AS referee,
       c.createdAt AS refereeCreated, r.createdAt AS createdAt, r.status AS status,
       coalesce(j.confirmed, false) AND r.fraud IS NULL AS converted,
       r.reviewDecision AS review
"""
PROFESSIONAL_REFERRALS = _REFERRALS.format(label="Professional")
CUSTOMER_REFERRALS = _REFERRALS.format(label="Customer")
# A job that a referral confirmed as fraud converted into is no outcome (nor the conversion
# itself, above): a ring's bought jobs must not lower its risk once a reviewer has seen them.
CONFIRMED_JOBS = f"""
UNWIND $ids AS id
MATCH (p:Professional {{id: id}})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true AND {NOT_FRAUD_JOB}
RETURN c.id AS customer, p.id AS professional, j.trade AS trade, j.completedAt AS completedAt,
       j.rating AS rating
"""
PROFESSIONALS = """
UNWIND $ids AS id
MATCH (p:Professional {id: id})
RETURN p.id AS id, p.trades AS trades, p.createdAt AS createdAt
"""

# Stale risk goes first: nodes that carry it and are not among this run's flagged ones.
CLEAR_PROFESSIONALS = """
MATCH (p:Professional) WHERE p.riskScore IS NOT NULL AND NOT p.id IN $keep
REMOVE p.riskScore, p.riskFindings
"""
CLEAR_REFERRALS = """
MATCH (x:Referral) WHERE x.riskScore IS NOT NULL AND NOT x.id IN $keep
REMOVE x.riskScore, x.riskFindings
"""
WRITE_PROFESSIONALS = """
UNWIND $rows AS r
MATCH (p:Professional {id: r.id})
SET p.riskScore = r.score, p.riskFindings = r.findings
"""
WRITE_REFERRALS = """
UNWIND $rows AS r
MATCH (x:Referral {id: r.id})
SET x.riskScore = r.score, x.riskFindings = r.findings
"""
MARK_RUN = """
MERGE (x:RiskRun {key: $key})
SET x.at = $at
"""


def _time(value: str | None) -> float | None:
    return None if value is None else timeutil.from_store(value).timestamp()


def projection_of(referrals: list[Row], jobs: list[Row], professionals: list[Row],
                  now: float) -> algorithms.Projection:
    """The detection projection of the store's rows (``by_professional`` set per row)."""
    refs = []
    customer_created: dict[str, float] = {}
    for r in referrals:
        refs.append(algorithms.Referral(
            r["id"], r["referrer"], bool(r["by_professional"]), r["professional"], r["referee"],
            timeutil.from_store(r["createdAt"]).timestamp(), r["status"],
            converted=bool(r["converted"]), review=r["review"]))
        created = _time(r["refereeCreated"])
        if created is not None:
            customer_created[r["referee"]] = created
    confirmed = [algorithms.Job(j["customer"], j["professional"], j["trade"] or "",
                                _time(j["completedAt"]) or 0.0, j["rating"]) for j in jobs]
    trades = {p["id"]: tuple(p["trades"] or ()) for p in professionals}
    created_at = {p["id"]: t for p in professionals if (t := _time(p["createdAt"])) is not None}
    return algorithms.Projection(refs, confirmed, customer_created, trades, created_at, now)


def present(referrals: list[Row], jobs: list[Row]) -> float:
    """The projection's present: its latest referral or job, at most the clock's now.

    Whether a referral has had its time to convert is judged against the data's own present,
    so that a snapshot loaded or left idle for weeks does not make its last open referrals
    look like failures; on a live store the two agree."""
    now = timeutil.now().timestamp()
    times = [_time(r["createdAt"]) for r in referrals] + [_time(j["completedAt"]) for j in jobs]
    latest = max((t for t in times if t is not None), default=now)
    return min(now, latest)


def finding_json(finding: algorithms.Finding, node: str) -> dict[str, Any]:
    """A finding as stored; ``involved`` names the other parties, not the node itself."""
    return {"signal": finding.signal, "strength": finding.strength,
            "explanation": finding.explanation,
            "involved": [i for i in finding.involved if i != node][: algorithms.MAX_INVOLVED]}


def rows_of(assessed: dict[str, tuple[float, list[algorithms.Finding]]]) -> list[Row]:
    return [{"id": node, "score": score,
             "findings": json.dumps([finding_json(f, node) for f in found])}
            for node, (score, found) in sorted(assessed.items()) if score > 0.0]


class IntegrityJob:
    """RING, RECIPROCAL_ONLY, HOLLOW_REFEREES, BURST and NO_OUTCOMES over the whole graph
    (``graph.algorithms.integrity``), stored as risk on professionals and referrals."""

    name = "integrity"

    async def read(self, store: Store) -> algorithms.Projection:
        ids = await professional_ids(store)
        referrals = []
        for query, by_professional in ((PROFESSIONAL_REFERRALS, True),
                                       (CUSTOMER_REFERRALS, False)):
            for row in await paged(store, query, ids):
                row["by_professional"] = by_professional
                referrals.append(row)
        jobs = await paged(store, CONFIRMED_JOBS, ids)
        professionals = await paged(store, PROFESSIONALS, ids)
        return projection_of(referrals, jobs, professionals, present(referrals, jobs))

    def compute(self, projection: algorithms.Projection) -> algorithms.Assessment:
        return algorithms.assess(projection)

    async def write(self, store: Store, results: algorithms.Assessment) -> int:
        pros, refs = rows_of(results.professionals), rows_of(results.referrals)
        await store.run_write(CLEAR_PROFESSIONALS, keep=[r["id"] for r in pros])
        await store.run_write(CLEAR_REFERRALS, keep=[r["id"] for r in refs])
        for query, rows in ((WRITE_PROFESSIONALS, pros), (WRITE_REFERRALS, refs)):
            for start in range(0, len(rows), BATCH):
                await store.run_write(query, rows=rows[start : start + BATCH])
        await store.run_write(MARK_RUN, key=RUN_KEY, at=timeutil.to_store(timeutil.now()))
        # Rewards follow the new scores: held at or above the review threshold, released below.
        await rewards.refresh_holds(store, store.review_threshold)
        return len(pros)
