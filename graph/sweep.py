"""Closing the loop by itself: reminders for referrals left SENT, expiry of open ones.

A referral still SENT ``reminder_days`` after it was made gets one REMINDER event (a nudge to
the professional); an open (SENT or ACCEPTED) referral older than ``ttl_days`` becomes EXPIRED,
with its history and a STATUS_CHANGED event, like any other change. Both claim a unique key in
the transaction that makes them (``<referral>|reminder``; the step's key that a status change
claims, see ``graph.referrals``), so that two sweeps (two processes) or a sweep and a hand-made
change of the same referral cannot both commit: the refused one reads again.

Batch work, run by the service every ``RG_EVENT_SWEEP_INTERVAL`` seconds and by ``referral-graph
events sweep``: it reads candidates in pages of :data:`PAGE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from graph import events, timeutil
from graph.store import ConstraintError, Row, Store, Tx

PAGE = 1000
ATTEMPTS = 10

# One status at a time: the embedded store serves an equality from the status index, not IN.
TO_REMIND = """
MATCH (x:Referral {status: 'SENT'})
WHERE x.createdAt < $cutoff AND x.remindedAt IS NULL
RETURN x.id AS id
LIMIT $limit
"""

REMIND = """
UNWIND $ids AS id
MATCH (x:Referral {id: id})
WHERE x.status = 'SENT' AND x.remindedAt IS NULL
CREATE (x)-[:CLAIMED]->(:Claim {key: id + '|reminder', at: $now})
SET x.remindedAt = $now
RETURN x.id AS id
"""

TO_EXPIRE = """
UNWIND ['SENT', 'ACCEPTED'] AS status
MATCH (x:Referral {status: status})
WHERE x.createdAt < $cutoff
RETURN x.id AS id, x.status AS status, size(x.statusHistory) AS steps
LIMIT $limit
"""

EXPIRE = """
UNWIND $rows AS r
MATCH (x:Referral {id: r.id})
WHERE x.status = r.status AND size(x.statusHistory) = r.steps
CREATE (x)-[:CLAIMED]->(:Claim {key: r.id + '|step|' + toString(r.steps), at: $now})
SET x.status = 'EXPIRED', x.updatedAt = $now, x.statusHistory = x.statusHistory + ['EXPIRED'],
    x.statusTimes = x.statusTimes + [$now]
REMOVE x.openKey
RETURN x.id AS id, r.status AS from
"""


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    expired: int


async def _pages(store: Store, read: str, cutoff: datetime,
                 write: str, rows_of: str) -> int:
    """Apply ``write`` to what ``read`` finds, a page at a time, until it finds nothing; each
    page in one transaction with its events."""
    done = 0
    attempts = 0
    while True:
        found = await store.read(read, cutoff=timeutil.to_store(cutoff), limit=PAGE)
        if not found:
            return done
        at = timeutil.now()

        async def work(tx: Tx, found: list[Row] = found, at: datetime = at) -> int:
            params = ({"ids": [r["id"] for r in found]} if rows_of == "ids"
                      else {"rows": found})
            changed = await tx.run(write, now=timeutil.to_store(at), **params)
            if rows_of == "ids":
                made = [events.referral_event(events.REMINDER, r["id"], at) for r in changed]
            else:
                made = [events.referral_event(events.STATUS_CHANGED, r["id"], at, r["from"])
                        for r in changed]
            await events.emit(tx, made)
            return len(changed)

        try:
            changed = await store.write(work)
        except ConstraintError:
            # A change of one of these referrals got there first: read the page again.
            attempts += 1
            if attempts >= ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0.02, 0.1))
            continue
        done += changed
        if changed == 0:
            # What was read changed meanwhile and is no longer a candidate, or is one that a
            # write cannot change: stop rather than read it again.
            return done


async def sweep(store: Store, reminder_days: float, ttl_days: float,
                now: datetime | None = None) -> SweepResult:
    """Send due reminders, then expire open referrals past their time to live."""
    now = timeutil.now() if now is None else now
    with store.batch():
        reminded = await _pages(store, TO_REMIND, now - timedelta(days=reminder_days),
                                REMIND, "ids")
        expired = await _pages(store, TO_EXPIRE, now - timedelta(days=ttl_days),
                               EXPIRE, "rows")
    return SweepResult(reminded, expired)


class Sweeper:
    """Runs :func:`sweep` every ``every`` seconds (never when ``every`` is 0)."""

    def __init__(self, store: Store, every: float, reminder_days: float,
                 ttl_days: float) -> None:
        self.store = store
        self.every = every
        self.reminder_days = reminder_days
        self.ttl_days = ttl_days
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await sweep(self.store, self.reminder_days, self.ttl_days)
            except asyncio.CancelledError:
                raise
            except Exception:
                events.log.exception("event sweep failed")
            await asyncio.sleep(self.every * random.uniform(0.9, 1.1))

    def start(self) -> None:
        if self.every > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
