"""Whole-graph measures, computed in batch and stored: reputation, trade complementarity,
the per-trade partner candidate lists and integrity risk (``graph.integrity``).

Each batch job keeps to a small interface: ``read`` a projection from the store, ``compute`` the
results with a pure function, ``write`` them back. Two engines run the jobs, chosen by
:class:`AnalyticsEngine`: networkx in this process, or Apache Spark (``graph.spark``), which
reads the same projection staged as Parquet and gives the same answers past one machine's
memory; the API reads only what ``write`` stored. Refreshes run from the CLI, the admin
mutation, and automatically after a configurable number of writes.

At most one refresh runs at a time across every process on the store: a refresh holds a lease,
a ``Lease`` node with a unique key and an expiry, so that a crashed holder's lease lapses. A
refresh asked for while another runs joins it and answers with that run's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import networkx as nx

from graph import timeutil
from graph.algorithms import partners as algorithms
from graph.store import ConstraintError, Row, Store

log = logging.getLogger(__name__)
BATCH = 5000
# The projections are read a page of professionals at a time, each page one statement anchored
# on their ids (unique-index lookups), so that no single result holds the whole graph: the store
# builds and buffers a bounded answer per statement however large the network grows.
PAGE = 2000



def not_fraud_job(var: str) -> str:
    """The condition that the job bound to ``var`` (a name fixed in code) is not one that a
    referral confirmed as fraud converted into: such a job is no evidence of anything, and is
    left out of reputation and co-hiring with the referral."""
    return f"size([({var})<-[:CONVERTED_TO]-(f:Referral) WHERE f.fraud = true | 1]) = 0"


NOT_FRAUD_JOB = not_fraud_job("j")
# Only confirmed jobs count as hires, in reputation and in co-hiring alike.
HIRING_EDGES = f"""
UNWIND $ids AS id
MATCH (p:Professional {{id: id}})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true AND {NOT_FRAUD_JOB}
RETURN c.id AS source, p.id AS target, j.rating AS rating
"""
# A referral confirmed as fraud counts nowhere (graph.review).
REFERRAL_EDGES = """
UNWIND $ids AS id
MATCH (p:Professional {id: id})<-[:FOR]-(r:Referral)<-[:MADE]-(a)
WHERE r.fraud IS NULL
RETURN a.id AS source, p.id AS target, r.status AS status
"""
# Keyset pages of professional ids, so that not even the list of ids is read at once.
PROFESSIONAL_IDS_AFTER = """
MATCH (p:Professional) WHERE p.id > $after
RETURN p.id AS id ORDER BY id LIMIT $n
"""
WRITE_REPUTATION = """
UNWIND $rows AS r
MATCH (p:Professional {id: r.id})
SET p.reputation = r.value
"""

# Per page of professionals, the trades their customers hired them for; the customers' sets
# of trades are gathered across pages (a customer hires professionals of several pages).
HIRED_TRADES = f"""
UNWIND $ids AS id
MATCH (p:Professional {{id: id}})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true AND {NOT_FRAUD_JOB}
RETURN DISTINCT c.id AS customer, j.trade AS trade
"""
CLEAR_TRADE_PAIRS = "MATCH (t:TradePair) DETACH DELETE t"
WRITE_TRADE_PAIRS = """
UNWIND $rows AS r
CREATE (:TradePair {key: r.key, a: r.a, b: r.b, customers: r.customers, lift: r.lift,
                    score: r.score, computedAt: r.at})
"""
TRADE_PAIRS = "MATCH (t:TradePair) RETURN t.a AS a, t.b AS b, t.score AS score, " \
              "t.customers AS customers, t.lift AS lift"

# Partner candidates per trade (and per trade and area), best reputation first, a page per
# node: partner recommendations and network gaps read the first pages of a few trades instead
# of sorting every professional offering them per request.
PROFESSIONAL_OFFERS = """
UNWIND $ids AS id
MATCH (p:Professional {id: id})
RETURN p.id AS id, p.trades AS trades, p.area AS area, coalesce(p.reputation, 0.0) AS reputation
"""
CLEAR_TRADE_CANDIDATES = "MATCH (t:TradeCandidates) DETACH DELETE t"
WRITE_TRADE_CANDIDATES = """
UNWIND $rows AS r
CREATE (:TradeCandidates {key: r.key, trade: r.trade, area: r.area, page: r.page, ids: r.ids,
                          reputations: r.reputations, more: r.more, computedAt: r.at})
"""
CANDIDATE_PAGE = 50

LEASE = "analytics"
# Taking the lease: MERGE creates it once; SET takes its write lock before the holder is read,
# so of two processes asking at once one sees the other's holder (the embedded store refuses
# the second commit instead, and the driver retries it).
LOCK_LEASE = """
MERGE (l:Lease {key: $key})
SET l.askedAt = $now
RETURN l.holder AS holder, l.until AS until, l.lastRun AS lastRun, l.finishedAt AS finishedAt,
       l.professionals AS professionals, l.trades AS trades, l.seconds AS seconds
"""
TAKE_LEASE = """
MATCH (l:Lease {key: $key})
SET l.holder = $holder, l.until = $until
"""
LEASE_STATE = """
MATCH (l:Lease {key: $key})
RETURN l.holder AS holder, l.until AS until, l.lastRun AS lastRun, l.finishedAt AS finishedAt,
       l.professionals AS professionals, l.trades AS trades, l.seconds AS seconds
"""
FINISH_LEASE = """
MATCH (l:Lease {key: $key}) WHERE l.holder = $holder
SET l.holder = null, l.until = null, l.lastRun = $holder, l.finishedAt = $finishedAt,
    l.professionals = $professionals, l.trades = $trades, l.seconds = $seconds
"""
DROP_LEASE = """
MATCH (l:Lease {key: $key}) WHERE l.holder = $holder
SET l.holder = null, l.until = null
"""
# A holder's lease outlives its own time limit by this much before another process may take
# it over: a holder that is alive has finished or given up by then.
LEASE_GRACE = 30.0
POLL = 0.2
DEFAULT_TIMEOUT = 300.0

# Pairs of trades with a score in (0, 1]: what organisers know before the data does.
Curated = Mapping[frozenset[str], float]


class BatchJob(Protocol):
    name: str

    async def read(self, store: Store) -> Any: ...

    def compute(self, projection: Any) -> Any: ...

    async def write(self, store: Store, results: Any) -> int: ...


ENGINES = ("networkx", "spark")


@dataclass(frozen=True)
class AnalyticsEngine:
    """Where the batch jobs compute: ``networkx`` in this process, or ``spark`` on the Spark
    master ``spark_master`` (``local[*]``, ``spark://host:port`` or ``sc://host:port``), with
    the projection staged as Parquet under ``staging``, a path or URI every executor reads."""

    name: str = "networkx"
    spark_master: str = "local[*]"
    staging: str = "data/staging"
    # Professionals per page of the projection (a statement each, and a Parquet file each).
    page: int = PAGE
    # spark.sql.shuffle.partitions of the Spark jobs.
    shuffle_partitions: int = 4


NETWORKX = AnalyticsEngine()


async def id_pages(store: Store, page: int = PAGE) -> AsyncIterator[list[str]]:
    """Every professional's id in order, ``page`` at a time, each page one statement starting
    after the last id of the one before."""
    after = ""
    while True:
        ids = [r["id"] for r in await store.read(PROFESSIONAL_IDS_AFTER, after=after, n=page)]
        if ids:
            yield ids
        if len(ids) < page:
            return
        after = ids[-1]


async def row_pages(store: Store, query: str, page: int = PAGE) -> AsyncIterator[list[Row]]:
    """The rows of ``query`` (anchored on ``$ids``) for every professional, a page of
    professionals per statement: the stream both engines read their projections from."""
    async for ids in id_pages(store, page):
        yield await store.read(query, ids=ids)


async def all_rows(store: Store, query: str, page: int = PAGE) -> list[Row]:
    return [row async for rows in row_pages(store, query, page) for row in rows]


async def professional_ids(store: Store) -> list[str]:
    """Every professional's id, in order: the anchors of the paged projections."""
    return [i async for ids in id_pages(store) for i in ids]


async def paged(store: Store, query: str, ids: list[str], page: int = PAGE) -> list[Row]:
    """The rows of ``query`` for all of ``ids``, read ``page`` ids per statement."""
    rows: list[Row] = []
    for start in range(0, len(ids), page):
        rows.extend(await store.read(query, ids=ids[start : start + page]))
    return rows


async def hiring_edges(store: Store, ids: list[str] | None = None) -> list[Row]:
    """Confirmed hires (customer ``source``, professional ``target``, ``rating``)."""
    if ids is None:
        return await all_rows(store, HIRING_EDGES)
    return await paged(store, HIRING_EDGES, ids)


async def customer_trades(store: Store, ids: list[str] | None = None) -> list[list[str]]:
    """Each customer's distinct trades of confirmed jobs (customers without one are left out)."""
    found: dict[str, set[str]] = {}
    rows = (await all_rows(store, HIRED_TRADES) if ids is None
            else await paged(store, HIRED_TRADES, ids))
    for row in rows:
        found.setdefault(row["customer"], set()).add(row["trade"])
    return [sorted(trades) for trades in found.values()]


class ReputationJob:
    """PageRank over hiring (weighted by rating) and referrals (weighted by outcome)."""

    name = "reputation"

    async def read(self, store: Store) -> tuple[list[Row], list[Row], list[str]]:
        return (await all_rows(store, HIRING_EDGES), await all_rows(store, REFERRAL_EDGES),
                await professional_ids(store))

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
    """Lift of co-hiring between trades, blended with a curated table of complementary trades
    (the service passes the one in ``seeds``)."""

    name = "complementarity"

    def __init__(self, curated: Curated) -> None:
        self.curated = curated

    async def read(self, store: Store) -> list[list[str]]:
        return await customer_trades(store)

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


def candidates_key(trade: str, area: str | None, page: int) -> str:
    """The key of one stored page of a trade's candidates (any area when ``area`` is None)."""
    return json.dumps([trade, area, page])


class TradeCandidatesJob:
    """Per trade, and per trade and area, every professional offering it, best reputation
    first, stored a page at a time (after the reputation job, whose figures it orders by)."""

    name = "trade candidates"

    async def read(self, store: Store) -> list[Row]:
        return await all_rows(store, PROFESSIONAL_OFFERS)

    def compute(self, projection: list[Row]) -> dict[algorithms.Stream, list[tuple[str, float]]]:
        return algorithms.candidate_lists(
            (r["id"], r["trades"] or [], r["area"], float(r["reputation"])) for r in projection)

    async def write(self, store: Store,
                    results: dict[algorithms.Stream, list[tuple[str, float]]]) -> int:
        at = timeutil.to_store(timeutil.now())
        rows = []
        for (trade, area), entries in results.items():
            for page, start in enumerate(range(0, len(entries), CANDIDATE_PAGE)):
                chunk = entries[start : start + CANDIDATE_PAGE]
                rows.append({"key": candidates_key(trade, area, page), "trade": trade,
                             "area": area, "page": page, "ids": [e[0] for e in chunk],
                             "reputations": [e[1] for e in chunk],
                             "more": start + CANDIDATE_PAGE < len(entries), "at": at})

        async def replace(tx: Any) -> None:
            # One transaction: readers see the old lists or the new ones, never none.
            await tx.run(CLEAR_TRADE_CANDIDATES)
            for start in range(0, len(rows), BATCH):
                await tx.run(WRITE_TRADE_CANDIDATES, rows=rows[start : start + BATCH])

        await store.write(replace)
        return len(rows)


@dataclass(frozen=True)
class RefreshResult:
    professionals: int
    trades: int
    seconds: float
    finished_at: datetime


class RefreshTimeout(Exception):
    """The refresh (or the wait for another process's) ran past its time limit."""


Phases = dict[str, float]


async def run(store: Store, job: BatchJob, phases: Phases | None = None) -> int:
    """Read, compute and write one job; the seconds of each phase are added to ``phases``."""
    phases = {} if phases is None else phases
    started = time.perf_counter()
    projection = await job.read(store)
    read = time.perf_counter()
    results = await asyncio.to_thread(job.compute, projection)
    computed = time.perf_counter()
    written = await job.write(store, results)
    for name, seconds in (("read", read - started), ("compute", computed - read),
                          ("write", time.perf_counter() - computed)):
        phases[name] = phases.get(name, 0.0) + seconds
    return written


async def _compute(store: Store, curated: Curated, engine: AnalyticsEngine = NETWORKX,
                   phases: Phases | None = None) -> tuple[int, int, float]:
    started = time.perf_counter()
    with store.batch():  # whole-graph reads and writes outlast the per-call budget
        if engine.name == "spark":
            # Imported here: pyspark and pyarrow are needed only by this engine.
            from graph.spark.jobs import refresh as on_spark

            professionals, trades = await on_spark(store, curated, engine, phases)
        else:
            professionals = await run(store, ReputationJob(), phases)
            trades = await run(store, ComplementarityJob(curated), phases)
            await run(store, TradeCandidatesJob(), phases)
            # Imported here: the integrity job pages its projection with this module's helpers.
            from graph.integrity import IntegrityJob

            await run(store, IntegrityJob(), phases)
    return professionals, trades, time.perf_counter() - started


async def _take_lease(store: Store, holder: str, seconds: float,
                      asked: str) -> str | RefreshResult:
    """Take the lease if it is free or lapsed (``holder`` comes back), or the holder that has
    it, or the figures of a run that finished since ``asked``: a caller whose first try was
    refused as a concurrent change, and retried after that run ended, still joins it."""

    async def work(tx: Any) -> str | RefreshResult:
        now = time.time()
        row = await tx.one(LOCK_LEASE, key=LEASE, now=now)
        if row is not None and row["holder"] is not None and (row["until"] or 0) > now:
            return str(row["holder"])
        if row is not None and row["finishedAt"] is not None and row["finishedAt"] >= asked:
            return _result(row)
        await tx.run(TAKE_LEASE, key=LEASE, holder=holder, until=now + seconds + LEASE_GRACE)
        return holder

    for attempt in range(3):
        try:
            return await store.write(work)
        except ConstraintError:
            # The embedded store refuses one of two concurrent MERGEs creating the lease.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _result(row: Row) -> RefreshResult:
    return RefreshResult(int(row["professionals"]), int(row["trades"]), float(row["seconds"]),
                         timeutil.from_store(row["finishedAt"]))


async def _joined(store: Store, holder: str) -> RefreshResult | None:
    """Wait for ``holder``'s run: its figures, or None when it ended without any (it failed or
    its lease lapsed)."""
    while True:
        await asyncio.sleep(POLL)
        rows = await store.read(LEASE_STATE, key=LEASE)
        row = rows[0] if rows else None
        if row is not None and row["lastRun"] == holder:
            return _result(row)
        if row is None or row["holder"] != holder or (row["until"] or 0) <= time.time():
            return None


async def _lead(store: Store, holder: str, curated: Curated,
                engine: AnalyticsEngine) -> RefreshResult:
    try:
        professionals, trades, seconds = await _compute(store, curated, engine)
    except BaseException:
        await asyncio.shield(store.run_write(DROP_LEASE, key=LEASE, holder=holder))
        raise
    result = RefreshResult(professionals, trades, seconds, timeutil.now())
    await store.run_write(FINISH_LEASE, key=LEASE, holder=holder,
                          finishedAt=timeutil.to_store(result.finished_at),
                          professionals=professionals, trades=trades, seconds=seconds)
    log.info("analytics refreshed", extra={"professionals": professionals, "trades": trades,
                                           "seconds": round(seconds, 2),
                                           "engine": engine.name})
    return result


async def refresh(store: Store, timeout: float = DEFAULT_TIMEOUT, *, curated: Curated,
                  engine: AnalyticsEngine = NETWORKX) -> RefreshResult:
    """Recompute and store reputation, trade complementarity and integrity risk with
    ``engine``, or, while another refresh runs (in any process), wait for it and answer with
    its figures; at most ``timeout`` seconds either way (:class:`RefreshTimeout`)."""
    me = uuid.uuid4().hex
    asked = timeutil.to_store(timeutil.now())
    try:
        async with asyncio.timeout(timeout):
            while True:
                holder = await _take_lease(store, me, timeout, asked)
                if isinstance(holder, RefreshResult):
                    return holder
                if holder == me:
                    return await _lead(store, me, curated, engine)
                joined = await _joined(store, holder)
                if joined is not None:
                    return joined
    except TimeoutError:
        raise RefreshTimeout(f"the analytics refresh ran past its limit of {timeout:g} s") \
            from None


class LocalTally:
    """The count of writes since the last refresh, in this process."""

    def __init__(self) -> None:
        self.changes = 0
        self.last = time.monotonic()

    def add(self, n: int, every: int, min_interval: float) -> bool:
        """Count ``n`` writes; True (and the count starts again) when a refresh is due."""
        self.changes += n
        now = time.monotonic()
        if self.changes >= every and now - self.last >= min_interval:
            self.changes, self.last = 0, now
            return True
        return False


class Tally(Protocol):
    """Where writes are counted: :class:`LocalTally`, or a count that several service processes
    share (each sees only its own writes through its store's ``after_write``)."""

    @property
    def changes(self) -> int: ...

    def add(self, n: int, every: int, min_interval: float) -> bool: ...


class AutoRefresh:
    """Refresh in the background once ``every`` writes have happened since the last refresh and
    at least ``min_interval`` seconds have passed; one refresh at a time. ``every <= 0`` turns it
    off. The interval keeps whole-graph work from running every few seconds under a write-heavy
    load, where it would show in the latency of every request. ``tally`` counts the writes
    (this process's own by default)."""

    def __init__(self, store: Store, every: int, min_interval: float = 600.0,
                 timeout: float = DEFAULT_TIMEOUT, tally: Tally | None = None, *,
                 curated: Curated, engine: AnalyticsEngine = NETWORKX) -> None:
        self.store = store
        self.curated = curated
        self.engine = engine
        self.timeout = timeout
        self.every = every
        self.min_interval = min_interval
        self.tally: Tally = tally if tally is not None else LocalTally()
        self.refreshes = 0
        self.task: asyncio.Task[RefreshResult] | None = None
        # Asked for while a refresh ran: that run may have read the store before the change.
        self.again = False
        store.after_write.append(self.changed)
        store.refresh_wanted.append(self.soon)

    @property
    def changes(self) -> int:
        return self.tally.changes

    def changed(self, n: int = 1) -> None:
        if self.every <= 0 or (self.task is not None and not self.task.done()):
            return  # writes of a running refresh (its own included) do not count
        if self.tally.add(n, self.every, self.min_interval):
            self.task = asyncio.get_running_loop().create_task(self._refresh())

    def soon(self) -> None:
        """Refresh now, whatever the count of writes and the interval (a review decision
        wants its consequences in reputation and co-hiring soon). A refresh running in this
        process is joined: one more follows it, for all the requests made meanwhile, since it
        may have read the store before them; one running in another process is joined through
        the lease. Nothing when the automatic refresh is turned off (``every <= 0``): the
        operator refreshes by hand then."""
        if self.every <= 0:
            return
        if self.task is not None and not self.task.done():
            self.again = True
            return
        self.again = False
        self.task = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> RefreshResult:
        while True:
            try:
                result = await refresh(self.store, self.timeout, curated=self.curated,
                                       engine=self.engine)
            except Exception:
                log.exception("automatic analytics refresh failed")
                raise
            self.refreshes += 1
            if not self.again:
                return result
            self.again = False

    async def close(self) -> None:
        """Stop counting writes and cancel a refresh still running (a leading one drops its
        lease first), so that nothing uses the store once its owner closes it."""
        if self.changed in self.store.after_write:
            self.store.after_write.remove(self.changed)
        if self.soon in self.store.refresh_wanted:
            self.store.refresh_wanted.remove(self.soon)
        task = self.task
        if task is None or task.done():
            return
        task.cancel()
        # Its failure, if it failed before the cancellation landed, is logged by _refresh.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
