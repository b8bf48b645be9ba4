"""Rate limits that hold across every instance on the store (``RG_RATE_LIMIT_SCOPE=store``).

Behind a load balancer each instance sees a share of a client's requests; limits kept per
instance would let a client through as many times over as there are instances. Here each limiter
keeps its own bucket (the burst, and the rate for this instance's share) and, on top, a count per
key and minute that all instances add to through the store (:mod:`graph.ratewindows`), about
once every ``RG_RATE_LIMIT_SYNC`` seconds. A request is let through while the key's requests over
the last minute, all instances together, stay under the per-minute rate plus the burst. That
count is a sliding window estimated from two fixed ones (the previous minute weighted by the
part of it still inside the window), which is how a shared counter limits without a round
trip per request; between two syncs an instance counts what it let through itself, so another
instance's traffic is seen at most one sync late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict

from app.ratelimit import Limiter
from graph import ratewindows
from graph.store import Store

log = logging.getLogger(__name__)

WINDOW = 60.0  # seconds: the rates are per minute
MAX_KEYS = 20_000  # keys whose totals are read back per sync (least recently used forgotten)


class StoreLimiter:
    """A :class:`~app.ratelimit.Limiter` whose per-minute rate holds across instances."""

    def __init__(self, name: str, local: Limiter, per_minute: int, burst: int) -> None:
        self.name = name
        self.local = local
        self.limit = per_minute + burst
        # Let through here and not yet added to the store, by window key.
        self.pending: dict[str, int] = {}
        # The store's totals as last read, by window key; recently used keys last.
        self.known: OrderedDict[str, int] = OrderedDict()

    def _key(self, key: str, minute: int) -> str:
        return f"{self.name}|{minute}|{key}"

    def _count(self, window: str) -> int:
        return self.known.get(window, 0) + self.pending.get(window, 0)

    def allow(self, key: str, now: float | None = None) -> float:
        wait = self.local.allow(key, now)
        if wait > 0:
            return wait
        wall = time.time()
        minute = int(wall // WINDOW)
        into = (wall % WINDOW) / WINDOW
        current, previous = self._key(key, minute), self._key(key, minute - 1)
        estimate = self._count(previous) * (1 - into) + self._count(current)
        if estimate >= self.limit:
            return max(1.0, math.ceil((1 - into) * WINDOW))
        self.pending[current] = self.pending.get(current, 0) + 1
        self.known[current] = self.known.pop(current, 0)  # most recently used
        if len(self.known) > MAX_KEYS:
            self.known.popitem(last=False)
        return 0.0

    async def sync(self, store: Store) -> None:
        """Add what was let through since the last sync; read back this minute's totals of
        the keys in use (and the previous minute's, which the estimate still weighs)."""
        spent, self.pending = self.pending, {}
        minute = int(time.time() // WINDOW)
        live = (f"{self.name}|{minute}|", f"{self.name}|{minute - 1}|")
        for window in [w for w in self.known if not w.startswith(live)]:
            del self.known[window]
        try:
            totals = await ratewindows.add(store, spent, list(self.known),
                                           expires=(minute + 2) * WINDOW)
        except Exception:
            # The counts stay pending and go with the next sync.
            for window, n in spent.items():
                self.pending[window] = self.pending.get(window, 0) + n
            raise
        for window, total in totals.items():
            # What was let through here meanwhile stays pending, counted once.
            self.known[window] = total


class StoreLimits:
    """Syncs a set of :class:`StoreLimiter` every ``every`` seconds while attached."""

    def __init__(self, limiters: list[StoreLimiter], every: float) -> None:
        self.limiters = limiters
        self.every = every
        self._task: asyncio.Task[None] | None = None

    async def _run(self, store: Store) -> None:
        purged = 0.0
        while True:
            await asyncio.sleep(self.every)
            try:
                for limiter in self.limiters:
                    await limiter.sync(store)
                if time.time() - purged > WINDOW:
                    purged = time.time()
                    await ratewindows.purge(store, purged)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store away for a moment: the next sync catches up
                log.warning("rate limit sync failed", extra={"error": str(exc)})

    def attach(self, store: Store) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(store), name="rate-limit-sync")

    async def detach(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
