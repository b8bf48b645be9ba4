"""Rate-limit counts shared by every service instance on the store (``RG_RATE_LIMIT_SCOPE=store``).

One ``(:RateWindow {key, n, expires})`` per limiter, key and minute: how many requests all
instances together let through in that minute. Each instance adds what it let through since
its last call and reads the totals back in one statement (:func:`add`), about once a second,
so the store sees a write per instance per second, not one per request. Windows are removed
once they can no longer count (:func:`purge`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from graph.store import ConstraintError, Store, Tx

ADD = """
UNWIND $rows AS r
MERGE (w:RateWindow {key: r.key})
ON CREATE SET w.n = 0, w.expires = r.expires
SET w.n = w.n + r.n
RETURN w.key AS key, w.n AS n
"""

READ = "UNWIND $keys AS k MATCH (w:RateWindow {key: k}) RETURN w.key AS key, w.n AS n"

PURGE = """
MATCH (w:RateWindow)
WHERE w.expires < $now
WITH w LIMIT $limit
DELETE w
RETURN count(*) AS removed
"""

ATTEMPTS = 5
PURGE_LIMIT = 5000


async def add(store: Store, spent: Mapping[str, int], read: list[str],
              expires: float) -> dict[str, int]:
    """Add ``spent`` (window key: requests) to the shared counts; the totals of those keys
    and of ``read`` (keys only read)."""

    async def work(tx: Tx) -> dict[str, int]:
        totals: dict[str, int] = {}
        if spent:
            rows = [{"key": k, "n": n, "expires": expires} for k, n in spent.items()]
            for row in await tx.run(ADD, rows=rows):
                totals[row["key"]] = int(row["n"])
        others = [k for k in read if k not in totals]
        if others:
            for row in await tx.run(READ, keys=others):
                totals[row["key"]] = int(row["n"])
        return totals

    for attempt in range(ATTEMPTS):
        try:
            # Bookkeeping, not data: no analytics count, no event pump nudge.
            return await store.write(work, counted=False)
        except ConstraintError:
            # Two instances created the same window at once: one MERGE is refused, again.
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    return {}


async def purge(store: Store, now: float) -> int:
    """Remove windows that expired before ``now`` (a bounded number per call)."""

    async def work(tx: Tx) -> int:
        row = await tx.one(PURGE, now=now, limit=PURGE_LIMIT)
        return 0 if row is None else int(row["removed"])

    return await store.write(work, counted=False)
