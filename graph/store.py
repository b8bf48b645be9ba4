"""The store: Cypher over Bolt with the official async ``neo4j`` driver.

One code path for Neo4j 5 and the embedded ArcadeDB server. :class:`Store` owns no policy: the
domain modules hand it named Cypher constants and parameters. It counts round trips so that tests
can prove batching, and turns connection failures into :class:`~graph.errors.StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import (
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
    # An open (SENT or ACCEPTED) referral carries openKey = referrer|professional|referee; the
    # key is removed when the referral reaches a final status. The store itself thus refuses a
    # second open referral for the same three parties, even under concurrent creates.
    "CREATE CONSTRAINT referral_open_key IF NOT EXISTS "
    "FOR (n:Referral) REQUIRE n.openKey IS UNIQUE",
    # Each lifecycle step of a referral, and each job's conversion, claims a unique key: of two
    # concurrent changes from the same state, the store lets one commit (the embedded store
    # would otherwise commit both, a lost update).
    "CREATE CONSTRAINT claim_key IF NOT EXISTS FOR (n:Claim) REQUIRE n.key IS UNIQUE",
    # One analytics refresh at a time across processes: its lease is one node per key.
    "CREATE CONSTRAINT lease_key IF NOT EXISTS FOR (n:Lease) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX referral_created IF NOT EXISTS FOR (n:Referral) ON (n.createdAt)",
    "CREATE INDEX referral_status IF NOT EXISTS FOR (n:Referral) ON (n.status)",
    "CREATE INDEX job_completed IF NOT EXISTS FOR (n:Job) ON (n.completedAt)",
)

PING = "RETURN 1 AS ok"
TRANSIENT_ATTEMPTS = 4


class Tx:
    """A managed transaction that returns rows as plain dicts and counts round trips."""

    def __init__(self, tx: AsyncManagedTransaction, store: Store) -> None:
        self._tx = tx
        self._store = store

    async def run(self, query: str, **params: Any) -> list[Row]:
        self._store.round_trips += 1
        result = await self._tx.run(query, params)
        return [record.data() async for record in result]

    async def one(self, query: str, **params: Any) -> Row | None:
        rows = await self.run(query, **params)
        return rows[0] if rows else None


class Store:
    """The database behind the service: a driver and a database name."""

    def __init__(self, driver: AsyncDriver, database: str) -> None:
        self.driver = driver
        self.database = database
        self.round_trips = 0
        # Called after every committed write transaction (the analytics auto-refresh counts).
        self.after_write: list[Callable[[], None]] = []

    async def read(self, query: str, **params: Any) -> list[Row]:
        """Run one read query as an auto-commit transaction.

        One statement needs no BEGIN and COMMIT of its own: RUN and PULL go out together, which
        halves the messages per read against a managed transaction. A read that meets a broken
        connection fails at once (as StoreUnavailable) instead of being retried.
        """
        self.round_trips += 1
        try:
            async with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS
            ) as session:
                result = await session.run(query, params)
                return [record.data() async for record in result]
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def write(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``work`` in one managed write transaction; anything it raises rolls it back."""

        async def unit(tx: AsyncManagedTransaction) -> T:
            return await work(Tx(tx, self))

        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                async with self.driver.session(database=self.database) as session:
                    result = await session.execute_write(unit)
                break
            except (ServiceUnavailable, SessionExpired, OSError) as exc:
                raise StoreUnavailable(str(exc)) from exc
            except TransientError:
                # The embedded store refuses concurrent changes to one record (two referrals
                # naming one professional touch its edge list) with DeadlockDetected, more often
                # under load than the driver's short retry budget absorbs; the budget stays
                # short so that an outage fails fast, and contention gets a few more tries.
                if attempt == TRANSIENT_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
        for listener in self.after_write:
            listener()
        return result

    async def run_write(self, query: str, **params: Any) -> list[Row]:
        """One write statement in its own transaction (bulk loads, batch results)."""

        async def work(tx: Tx) -> list[Row]:
            return await tx.run(query, **params)

        return await self.write(work)

    async def ensure_schema(self) -> None:
        """Create constraints and indexes if missing; safe to run at every start."""
        for statement in SCHEMA_STATEMENTS:
            await self.run_write(statement)

    async def ping(self) -> bool:
        """Whether the store answers now: one try, no retries, for readiness probes."""
        try:
            async with self.driver.session(database=self.database) as session:
                result = await session.run(PING)
                record = await result.single()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
            return False
        return record is not None and record["ok"] == 1

    async def close(self) -> None:
        await self.driver.close()


def connect(uri: str, user: str, password: str, database: str) -> Store:
    """Open a driver for ``uri``. Short timeouts make a store outage fail fast, not hang."""
    driver = AsyncGraphDatabase.driver(
        uri,
        auth=(user, password),
        connection_timeout=3.0,
        connection_acquisition_timeout=5.0,
        # Retries of a failed transaction stop after this long: with the store down a request
        # fails within about 3 s (with backoff) instead of hanging.
        max_transaction_retry_time=1.0,
        max_connection_pool_size=100,
    )
    return Store(driver, database)
