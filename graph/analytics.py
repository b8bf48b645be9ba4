"""Whole-graph measures, computed in batch and stored: reputation and trade complementarity.

Each batch job keeps to a small interface: ``read`` a projection from the store, ``compute`` the
results with a pure function, ``write`` them back. Past one machine's memory, ``compute`` is the
part to hand to an engine that scales out (Neo4j GDS, Spark GraphFrames); the API reads only
what ``write`` stored. Refreshes run from the CLI, the admin mutation, and automatically after a
configurable number of writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import networkx as nx

from graph import timeutil
from graph.algorithms import partners as algorithms
from graph.store import Row, Store

log = logging.getLogger(__name__)
BATCH = 5000

# Only confirmed jobs count as hires, in reputation and in co-hiring alike.
HIRING_EDGES = """
MATCH (c:Customer)-[:BOOKED]->(j:Job)-[:DONE_BY]->(p:Professional)
WHERE j.confirmed = true
RETURN c.id AS source, p.id AS target, j.rating AS rating
"""
REFERRAL_EDGES = """
MATCH (r:Referral)-[:FOR]->(p:Professional)
MATCH (r)<-[:MADE]-(a)
RETURN a.id AS source, p.id AS target, r.status AS status
"""
PROFESSIONAL_IDS = "MATCH (p:Professional) RETURN p.id AS id"
WRITE_REPUTATION = """
UNWIND $rows AS r
MATCH (p:Professional {id: r.id})
SET p.reputation = r.value
"""

CUSTOMER_TRADES = """
MATCH (c:Customer)-[:BOOKED]->(j:Job)
WHERE j.confirmed = true
RETURN c.id AS customer, collect(DISTINCT j.trade) AS trades
"""
CLEAR_TRADE_PAIRS = "MATCH (t:TradePair) DETACH DELETE t"
WRITE_TRADE_PAIRS = """
UNWIND $rows AS r
CREATE (:TradePair {key: r.key, a: r.a, b: r.b, customers: r.customers, lift: r.lift,
                    score: r.score, computedAt: r.at})
"""
TRADE_PAIRS = "MATCH (t:TradePair) RETURN t.a AS a, t.b AS b, t.score AS score, " \
              "t.customers AS customers, t.lift AS lift"


class BatchJob(Protocol):
    name: str

    async def read(self, store: Store) -> Any: ...

    def compute(self, projection: Any) -> Any: ...

    async def write(self, store: Store, results: Any) -> int: ...


class ReputationJob:
    """PageRank over hiring (weighted by rating) and referrals (weighted by outcome)."""

    name = "reputation"

    async def read(self, store: Store) -> tuple[list[Row], list[Row], list[str]]:
        return (await store.read(HIRING_EDGES), await store.read(REFERRAL_EDGES),
                [r["id"] for r in await store.read(PROFESSIONAL_IDS)])

    def compute(self, projection: tuple[list[Row], list[Row], list[str]]) -> dict[str, float]:
        hires, referrals, professionals = projection
        G = nx.DiGraph()
        G.add_nodes_from(professionals)
        for row, weight in [*((h, algorithms.hire_weight(h["rating"])) for h in hires),
                            *((r, algorithms.OUTCOME_WEIGHT[r["status"]]) for r in referrals)]:
            u, v = row["source"], row["target"]
            G.add_edge(u, v, weight=G.get_edge_data(u, v, {"weight": 0.0})["weight"] + weight)
        ranks = algorithms.reputation(G)
        return {p: ranks.get(p, 0.0) for p in professionals}

    async def write(self, store: Store, results: dict[str, float]) -> int:
        rows = [{"id": k, "value": v} for k, v in results.items()]
        for start in range(0, len(rows), BATCH):
            await store.run_write(WRITE_REPUTATION, rows=rows[start : start + BATCH])
        return len(rows)


class ComplementarityJob:
    """Lift of co-hiring between trades, blended with the curated table in ``seeds``."""

    name = "complementarity"

    def __init__(self, curated: Mapping[frozenset[str], float] | None = None) -> None:
        if curated is None:
            from seeds.complementary_trades import CURATED

            curated = CURATED
        self.curated = curated

    async def read(self, store: Store) -> list[list[str]]:
        return [r["trades"] for r in await store.read(CUSTOMER_TRADES)]

    def compute(self, projection: list[list[str]]) -> list[algorithms.TradePair]:
        return algorithms.complementarity(projection, self.curated)

    async def write(self, store: Store, results: list[algorithms.TradePair]) -> int:
        at = timeutil.to_store(timeutil.now())
        rows = [{"key": f"{p.a}|{p.b}", "a": p.a, "b": p.b, "customers": p.customers,
                 "lift": p.lift, "score": p.score, "at": at} for p in results]

        async def replace(tx: Any) -> None:
            await tx.run(CLEAR_TRADE_PAIRS)
            if rows:
                await tx.run(WRITE_TRADE_PAIRS, rows=rows)

        await store.write(replace)
        return len({t for p in results for t in (p.a, p.b)})


@dataclass(frozen=True)
class RefreshResult:
    professionals: int
    trades: int
    seconds: float


async def run(store: Store, job: BatchJob) -> int:
    projection = await job.read(store)
    results = await asyncio.to_thread(job.compute, projection)
    return await job.write(store, results)


async def refresh(store: Store) -> RefreshResult:
    """Recompute and store reputation and trade complementarity."""
    started = time.perf_counter()
    with store.batch():  # whole-graph reads and writes outlast the per-call budget
        professionals = await run(store, ReputationJob())
        trades = await run(store, ComplementarityJob())
    seconds = time.perf_counter() - started
    log.info("analytics refreshed", extra={"professionals": professionals, "trades": trades,
                                           "seconds": round(seconds, 2)})
    return RefreshResult(professionals, trades, seconds)


class AutoRefresh:
    """Refresh in the background once ``every`` writes have happened since the last refresh and
    at least ``min_interval`` seconds have passed; one refresh at a time. ``every <= 0`` turns it
    off. The interval keeps whole-graph work from running every few seconds under a write-heavy
    load, where it would show in the latency of every request."""

    def __init__(self, store: Store, every: int, min_interval: float = 600.0) -> None:
        self.store = store
        self.every = every
        self.min_interval = min_interval
        self.last = time.monotonic()
        self.changes = 0
        self.refreshes = 0
        self.task: asyncio.Task[RefreshResult] | None = None
        store.after_write.append(self.changed)

    def changed(self, n: int = 1) -> None:
        if self.every <= 0 or (self.task is not None and not self.task.done()):
            return  # writes of a running refresh (its own included) do not count
        self.changes += n
        due = time.monotonic() - self.last >= self.min_interval
        if self.changes >= self.every and due:
            self.changes = 0
            self.last = time.monotonic()
            self.task = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> RefreshResult:
        try:
            result = await refresh(self.store)
        except Exception:
            log.exception("automatic analytics refresh failed")
            raise
        self.refreshes += 1
        return result

    def close(self) -> None:
        if self.changed in self.store.after_write:
            self.store.after_write.remove(self.changed)
