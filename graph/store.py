"""The store: Cypher over Bolt with the official async ``neo4j`` driver.

One code path for Neo4j 5 and the embedded ArcadeDB server. :class:`Store` owns no policy: the
domain modules hand it named Cypher constants and parameters. It counts round trips so that tests
can prove batching, and turns connection failures into :class:`~graph.errors.StoreUnavailable`.

Every call is bounded in time. A store that is down refuses connections, which the driver's own
timeouts catch; a store that hangs (a frozen process, a stalled disk) keeps its connections open
and would hold every request until the request timeout. So each read, write and ping runs under
a deadline (``timeout``, a few seconds) and fails as StoreUnavailable past it. Batch work (bulk
loads, analytics refreshes, schema creation) legitimately runs longer statements and takes the
larger ``batch_timeout`` inside :meth:`Store.batch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import (
    ConnectionPoolError,
    ConstraintError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from graph.errors import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Row = dict[str, Any]

__all__ = ["ConstraintError", "Row", "Store", "Tx", "connect"]

# Constraints and indexes, created idempotently at start-up.
SCHEMA_STATEMENTS = (
    "CREATE CONSTRAINT professional_id IF NOT EXISTS FOR (n:Professional) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT customer_id IF NOT EXISTS FOR (n:Customer) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT job_id IF NOT EXISTS FOR (n:Job) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT referral_id IF NOT EXISTS FOR (n:Referral) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT network_id IF NOT EXISTS FOR (n:Network) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT reward_program_id IF NOT EXISTS "
    "FOR (n:RewardProgram) REQUIRE n.id IS UNIQUE",
    # An open (SENT or ACCEPTED) referral carries openKey = referrer|professional|referee; the
    # key is removed when the referral reaches a final status. The store itself thus refuses a
    # second open referral for the same three parties, even under concurrent creates.
    "CREATE CONSTRAINT referral_open_key IF NOT EXISTS "
    "FOR (n:Referral) REQUIRE n.openKey IS UNIQUE",
    # Each lifecycle step of a referral, and each job's conversion, claims a unique key: of two
    # concurrent changes from the same state, the store lets one commit (the embedded store
    # would otherwise commit both, a lost update).
    "CREATE CONSTRAINT claim_key IF NOT EXISTS FOR (n:Claim) REQUIRE n.key IS UNIQUE",
    # Referral codes: each code once, and one code per (referrer, professional) so that
    # concurrent asks for a code end with one.
    "CREATE CONSTRAINT referral_code IF NOT EXISTS FOR (n:ReferralCode) REQUIRE n.code IS UNIQUE",
    "CREATE CONSTRAINT referral_code_pair IF NOT EXISTS "
    "FOR (n:ReferralCode) REQUIRE n.pair IS UNIQUE",
    # Rewards: one per (program, referral, role), and each referrer's n-th reward in a program
    # once (see graph.rewards: what keeps tiers and caps exact under concurrent earning).
    "CREATE CONSTRAINT reward_id IF NOT EXISTS FOR (n:Reward) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT reward_key IF NOT EXISTS FOR (n:Reward) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT reward_slot IF NOT EXISTS FOR (n:Reward) REQUIRE n.slot IS UNIQUE",
    # One analytics refresh at a time across processes: its lease is one node per key.
    "CREATE CONSTRAINT lease_key IF NOT EXISTS FOR (n:Lease) REQUIRE n.key IS UNIQUE",
    # The outbox (graph.events): each event once, numbered once, one counter.
    "CREATE CONSTRAINT event_id IF NOT EXISTS FOR (n:Event) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT event_seq IF NOT EXISTS FOR (n:Event) REQUIRE n.seq IS UNIQUE",
    "CREATE CONSTRAINT counter_key IF NOT EXISTS FOR (n:Counter) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX event_pending IF NOT EXISTS FOR (n:Event) ON (n.pending)",
    # Rate-limit counts shared by the instances on the store (graph.ratewindows).
    "CREATE CONSTRAINT rate_window_key IF NOT EXISTS FOR (n:RateWindow) REQUIRE n.key IS UNIQUE",
    # Webhooks (graph.webhooks): one delivery per (webhook, event); the sender finds a
    # webhook's work by its lane, busy webhooks by their flag, owners' webhooks by owner.
    "CREATE CONSTRAINT webhook_id IF NOT EXISTS FOR (n:Webhook) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT delivery_id IF NOT EXISTS FOR (n:Delivery) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX webhook_owner IF NOT EXISTS FOR (n:Webhook) ON (n.ownerKey)",
    "CREATE INDEX webhook_busy IF NOT EXISTS FOR (n:Webhook) ON (n.busy)",
    "CREATE INDEX webhook_active IF NOT EXISTS FOR (n:Webhook) ON (n.active)",
    "CREATE INDEX delivery_lane IF NOT EXISTS FOR (n:Delivery) ON (n.lane)",
    "CREATE INDEX delivery_webhook IF NOT EXISTS FOR (n:Delivery) ON (n.webhookId)",
    "CREATE INDEX referral_created IF NOT EXISTS FOR (n:Referral) ON (n.createdAt)",
    "CREATE INDEX referral_status IF NOT EXISTS FOR (n:Referral) ON (n.status)",
    "CREATE INDEX job_completed IF NOT EXISTS FOR (n:Job) ON (n.completedAt)",
    "CREATE INDEX reward_program_owner IF NOT EXISTS FOR (n:RewardProgram) ON (n.ownerId)",
    "CREATE INDEX reward_tally IF NOT EXISTS FOR (n:Reward) ON (n.tally)",
    "CREATE INDEX reward_referral IF NOT EXISTS FOR (n:Reward) ON (n.referralId)",
    "CREATE INDEX reward_recipient IF NOT EXISTS FOR (n:Reward) ON (n.recipientId)",
    "CREATE INDEX reward_program IF NOT EXISTS FOR (n:Reward) ON (n.programId)",
    "CREATE INDEX reward_status IF NOT EXISTS FOR (n:Reward) ON (n.status)",
    "CREATE INDEX trade_candidates_key IF NOT EXISTS FOR (n:TradeCandidates) ON (n.key)",
)

PING = "RETURN 1 AS ok"
TRANSIENT_ATTEMPTS = 4
# Budgets for callers that give none (scripts, the test suite's shared store); the service
# passes RG_STORE_TIMEOUT (3 s) and RG_STORE_BATCH_TIMEOUT.
DEFAULT_TIMEOUT = 10.0
DEFAULT_BATCH_TIMEOUT = 600.0
# Connections idle for longer are checked (one RESET) before they are handed out again, so a
# request after a store restart does not fail on a connection the store already closed.
LIVENESS_CHECK = 30.0
# Idle read sessions kept for the next reads: as many as reads run at once, up to the pool's
# connections.
MAX_IDLE_READERS = 100

# The driver's ways of saying that the store cannot be reached (a full pool waited out too).
UNREACHABLE = (ServiceUnavailable, SessionExpired, ConnectionPoolError, OSError)

# Set inside Store.batch(): the calls of the current task take the batch budget.
_in_batch: ContextVar[bool] = ContextVar("store_batch", default=False)


# Values the driver hands out that Record.data() would return unchanged; anything else (nodes,
# relationships, paths, temporal values, tuples) goes through Record.data() itself.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """``value`` as ``Record.data()`` would export it, without its per-value ABC checks.

    The rows the domain modules read are maps and lists of scalars; Record.data() tests every
    value against several abstract classes (Sequence, Set, Mapping), which dominates the cost of
    converting a page of rows. Exact type checks take the common path; the rest is exported by
    the driver, so the result is the same.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    if kind is list:
        # Lists of scalars (an export's rows) are the common case: only other values convert.
        return [v if type(v) in _PLAIN else plain(v) for v in value]
    return neo4j.Record({"value": value}).data()["value"]


def row_of(record: neo4j.Record) -> Row:
    """One record as a plain dict, equal to ``record.data()``."""
    return {key: plain(value) for key, value in zip(record.keys(), record, strict=True)}


def _scalar_row(record: neo4j.Record) -> Row:
    return dict(zip(record.keys(), record.values(), strict=True))


class Tx:
    """A managed transaction that returns rows as plain dicts and counts round trips."""

    def __init__(self, tx: AsyncManagedTransaction, store: Store) -> None:
        self._tx = tx
        self._store = store

    async def run(self, query: str, **params: Any) -> list[Row]:
        self._store.round_trips += 1
        result = await self._tx.run(query, params)
        return [row_of(record) async for record in result]

    async def one(self, query: str, **params: Any) -> Row | None:
        rows = await self.run(query, **params)
        return rows[0] if rows else None


class Store:
    """The database behind the service: a driver and a database name."""

    def __init__(
        self, driver: AsyncDriver, database: str, timeout: float = DEFAULT_TIMEOUT,
        batch_timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout = timeout
        self.batch_timeout = batch_timeout
        self.round_trips = 0
        # Called after every committed write transaction (the analytics auto-refresh counts).
        self.after_write: list[Callable[[], None]] = []
        # Called when a change asks for the analytics refresh to run soon rather than after
        # the next so many writes (a review decision; the auto-refresh listens).
        self.refresh_wanted: list[Callable[[], None]] = []
        # Customers erased through this store, counted after each erasure has committed, and
        # called then (graph.customers.erase_customer): what remembers that a customer was not
        # erased knows to ask again.
        self.erasures = 0
        # The risk score at or above which new and refreshed rewards are HELD for review
        # (RG_RISK_REVIEW_THRESHOLD; see graph.rewards).
        self.review_threshold = 0.5
        self.after_erasure: list[Callable[[], None]] = []
        # Read sessions between two reads. A session runs one statement after another, and
        # gives its connection back to the pool once a result is consumed; making one per read
        # (the driver merges its whole configuration afresh) was about 3% of a small read's
        # CPU. One that failed is closed, never reused.
        self._idle_readers: list[neo4j.AsyncSession] = []
        # Every session of this store shares one bookmark manager: on a Neo4j cluster
        # (``neo4j://`` routing), a read that follows a write of this process waits for a member
        # that has the write, so a client reads what it just changed wherever its reads go.
        self.bookmarks = AsyncGraphDatabase.bookmark_manager()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Store calls made inside (by this task and the tasks it starts) may each run up to
        ``batch_timeout`` instead of ``timeout``: bulk loads and whole-graph jobs."""
        token = _in_batch.set(True)
        try:
            yield
        finally:
            _in_batch.reset(token)

    @property
    def budget(self) -> float:
        """Seconds the next call may take."""
        return self.batch_timeout if _in_batch.get() else self.timeout

    def _late(self, budget: float) -> StoreUnavailable:
        log.warning("store call timed out", extra={"seconds": budget})
        return StoreUnavailable(f"the store did not answer within {budget:g} s")

    async def read(self, query: str, **params: Any) -> list[Row]:
        """Run one read query as an auto-commit transaction.

        One statement needs no BEGIN and COMMIT of its own: RUN and PULL go out together, which
        halves the messages per read against a managed transaction. A read that meets a broken
        connection fails at once (as StoreUnavailable) instead of being retried.
        """
        return await self._read(query, params, row_of)

    async def read_scalars(self, query: str, **params: Any) -> list[Row]:
        """:meth:`read` for a query that returns only strings, numbers, booleans, nulls and
        lists of them: the driver's values are then plain already, and are not walked again
        (on an export's pages, the walk cost as much as decoding them)."""
        return await self._read(query, params, _scalar_row)

    async def _read(self, query: str, params: dict[str, Any],
                    convert: Callable[[neo4j.Record], Row]) -> list[Row]:
        self.round_trips += 1
        budget = self.budget
        try:
            async with asyncio.timeout(budget):
                session = self._idle_readers.pop() if self._idle_readers else self.driver.session(
                    database=self.database, default_access_mode=neo4j.READ_ACCESS,
                    bookmark_manager=self.bookmarks)
                try:
                    result = await session.run(query, params)
                    rows = [convert(record) async for record in result]
                except BaseException:
                    await session.close()  # as leaving ``async with session`` would
                    raise
            if len(self._idle_readers) < MAX_IDLE_READERS:
                self._idle_readers.append(session)
            else:
                await session.close()
            return rows
        except TimeoutError as exc:
            raise self._late(budget) from exc
        except UNREACHABLE as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def write(self, work: Callable[[Tx], Awaitable[T]], *, counted: bool = True) -> T:
        """Run ``work`` in one managed write transaction; anything it raises rolls it back.
        The ``after_write`` listeners hear of it unless ``counted`` is false (bookkeeping such
        as numbering events, which changes no data).

        Past the budget the transaction is abandoned (the driver drops its connection, and the
        store rolls back what it had not committed) and StoreUnavailable is raised. A commit
        already under way when the deadline falls may still land: clients retry with their own
        ids, which makes the retry idempotent."""
        budget = self.budget
        try:
            async with asyncio.timeout(budget):
                result = await self._write(work)
        except TimeoutError as exc:
            raise self._late(budget) from exc
        if not counted:
            return result
        for listener in self.after_write:
            # The transaction has committed: a failing listener must not make the caller
            # report a write that happened as failed.
            try:
                listener()
            except Exception:
                log.exception("after-write listener failed")
        return result

    def want_refresh(self) -> None:
        """Ask the listeners of ``refresh_wanted`` to refresh the analytics soon."""
        for listener in self.refresh_wanted:
            try:
                listener()
            except Exception:
                log.exception("refresh-wanted listener failed")

    async def _write(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        async def unit(tx: AsyncManagedTransaction) -> T:
            return await work(Tx(tx, self))

        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                async with self.driver.session(database=self.database,
                                               bookmark_manager=self.bookmarks) as session:
                    result = await session.execute_write(unit)
                break
            except UNREACHABLE as exc:
                raise StoreUnavailable(str(exc)) from exc
            except TransientError:
                # The embedded store refuses concurrent changes to one record (two referrals
                # naming one professional touch its edge list) with DeadlockDetected, more often
                # under load than the driver's short retry budget absorbs; the budget stays
                # short so that an outage fails fast, and contention gets a few more tries.
                if attempt == TRANSIENT_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
        return result

    async def run_write(self, query: str, **params: Any) -> list[Row]:
        """One write statement in its own transaction (bulk loads, batch results)."""

        async def work(tx: Tx) -> list[Row]:
            return await tx.run(query, **params)

        return await self.write(work)

    async def ensure_schema(self) -> None:
        """Create constraints and indexes if missing; safe to run at every start."""
        with self.batch():  # an index over a large store takes its time to build
            for statement in SCHEMA_STATEMENTS:
                await self.run_write(statement)

    async def ping(self) -> bool:
        """Whether the store answers now: one try, no retries, within the (short) timeout, for
        readiness probes."""
        try:
            async with asyncio.timeout(self.timeout), self.driver.session(
                database=self.database
            ) as session:
                result = await session.run(PING)
                record = await result.single()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
            return False  # TimeoutError is an OSError
        return record is not None and record["ok"] == 1

    async def close(self) -> None:
        idle, self._idle_readers = self._idle_readers, []
        for session in idle:
            with contextlib.suppress(Exception):  # the driver's close ends them in any case
                await session.close()
        await self.driver.close()


def connect(
    uri: str, user: str, password: str, database: str, *, timeout: float = DEFAULT_TIMEOUT,
    batch_timeout: float = DEFAULT_BATCH_TIMEOUT,
) -> Store:
    """Open a driver for ``uri``. Short timeouts make a store outage fail fast, not hang:
    ``timeout`` bounds each call (see the module's notes), ``batch_timeout`` batch work."""
    driver = AsyncGraphDatabase.driver(
        uri,
        auth=(user, password),
        connection_timeout=min(3.0, timeout),
        # A full pool waits no longer for a free connection than a call may take in all.
        connection_acquisition_timeout=timeout,
        liveness_check_timeout=LIVENESS_CHECK,
        # Retries of a failed transaction stop after this long: with the store down a request
        # fails within about 3 s (with backoff) instead of hanging.
        max_transaction_retry_time=1.0,
        # Retried conflicts (the embedded store's optimistic commits refuse one of two
        # concurrent changes of a page) wait tens of milliseconds, not the default second: at
        # a second per conflict, a request that meets two fails its 3 s budget.
        initial_retry_delay=0.02,
        retry_delay_multiplier=2.0,
        retry_delay_jitter_factor=0.5,
        max_connection_pool_size=100,
    )
    return Store(driver, database, timeout, batch_timeout)
