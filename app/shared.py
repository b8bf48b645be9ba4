"""State that the worker processes of one ``serve`` share: the rate-limit buckets, the count
of writes since the last analytics refresh and the count of customer erasures.

Each table is a small file mapped into every worker's memory, changed under an exclusive
``flock`` on the file. A bucket or a counter is a few bytes changed in a few microseconds, so one
lock per file serves hundreds of requests a second without contention; a library (a Redis, a
``multiprocessing`` manager) would add a process or a round trip per request for the same
result. ``time.monotonic`` is the machine's clock since boot, the same in every process, so
times kept here compare across workers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

BUCKET = struct.Struct("<Qdd")  # key hash (0: empty), tokens, updated
SLOTS = 1 << 17  # about 3 MiB per table; more than RateLimiter's default MAX_KEYS
PROBE = 16  # slots looked at per key; a full window forgets its least recently used bucket
TALLY = struct.Struct("<qd")  # writes counted, monotonic time of the last refresh
COUNTER = struct.Struct("<q")


class _Mapped:
    """A file of ``size`` bytes mapped into memory, with an exclusive lock around changes."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)  # new bytes read as zero: empty slots
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self._lock = open(path, "rb")  # noqa: SIM115 - held for the object's life

    @contextlib.contextmanager
    def locked(self) -> Iterator[mmap.mmap]:
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            yield self._map
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        self._lock.close()


def _hash(key: str) -> int:
    # Never 0, which marks an empty slot.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


class SharedRateLimiter:
    """:class:`app.ratelimit.RateLimiter` over a table that all workers share: a key's bucket is
    one, whichever worker a request reaches, so a limit holds for the sum of all workers.

    Keys are stored as 64-bit hashes (two keys sharing a hash would share a bucket; at 2**64
    that does not happen by chance, and the keys are not secrets anyone could aim a collision
    at more easily than spending tokens). Within a key's probe window of ``PROBE`` slots the
    least recently used bucket gives way to a new key, as the in-memory limiter forgets its
    least recently used keys.
    """

    def __init__(self, path: Path, per_minute: int, burst: int, slots: int = SLOTS) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.slots = slots
        self._table = _Mapped(path, slots * BUCKET.size)

    def _slot(self, table: mmap.mmap, h: int) -> tuple[int, float, float]:
        """The offset of ``h``'s bucket and its tokens and time (a fresh, full bucket if new)."""
        start = h % self.slots
        oldest, oldest_at = -1, float("inf")
        for i in range(PROBE):
            offset = ((start + i) % self.slots) * BUCKET.size
            key, tokens, updated = BUCKET.unpack_from(table, offset)
            if key == h:
                return offset, tokens, updated
            if key == 0:
                return offset, self.burst, -1.0
            if updated < oldest_at:
                oldest, oldest_at = offset, updated
        return oldest, self.burst, -1.0

    def allow(self, key: str, now: float | None = None) -> float:
        """0 when allowed (and spent); otherwise the seconds to wait."""
        now = time.monotonic() if now is None else now
        h = _hash(key)
        with self._table.locked() as table:
            offset, tokens, updated = self._slot(table, h)
            if updated >= 0:
                tokens = min(self.burst, tokens + max(0.0, now - updated) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            BUCKET.pack_into(table, offset, h, tokens, now)
        return wait

    def close(self) -> None:
        self._table.close()


class SharedTally:
    """The count of writes since the last analytics refresh, for all workers together: the
    refresh comes after ``every`` writes however they are spread over the workers, and one
    worker, the one whose write completes the count, starts it."""

    def __init__(self, path: Path) -> None:
        self._file = _Mapped(path, TALLY.size)

    def reset(self, now: float | None = None) -> None:
        """Start counting afresh (at start-up, as a just-refreshed network)."""
        with self._file.locked() as data:
            TALLY.pack_into(data, 0, 0, time.monotonic() if now is None else now)

    @property
    def changes(self) -> int:
        with self._file.locked() as data:
            return int(TALLY.unpack_from(data, 0)[0])

    def add(self, n: int, every: int, min_interval: float) -> bool:
        """Count ``n`` writes; True (and the count starts again) when a refresh is due."""
        now = time.monotonic()
        with self._file.locked() as data:
            changes, last = TALLY.unpack_from(data, 0)
            changes += n
            due = changes >= every and now - last >= min_interval
            TALLY.pack_into(data, 0, 0 if due else changes, now if due else last)
        return due

    def close(self) -> None:
        self._file.close()


class SharedCounter:
    """A number that only grows, the same for all workers: each bumps it, any reads it."""

    def __init__(self, path: Path) -> None:
        self._file = _Mapped(path, COUNTER.size)

    @property
    def value(self) -> int:
        # One aligned 8-byte word, written whole under the lock: read as it is, without it.
        return int(COUNTER.unpack_from(self._file._map, 0)[0])

    def bump(self) -> None:
        with self._file.locked() as data:
            COUNTER.pack_into(data, 0, COUNTER.unpack_from(data, 0)[0] + 1)

    def close(self) -> None:
        self._file.close()


RATE_ADDRESS = "rate-address"
RATE_PRINCIPAL = "rate-principal"
RATE_CODES = "rate-codes"  # referral code lookups per principal
RATE_LANDING = "rate-landing"  # referral code landing pages per address
TALLY_FILE = "analytics-tally"
ERASURES = "erasures"  # customers erased through any worker (app.erasure)
METRICS = "metrics"  # prometheus-client's multiprocess files


def prepare(folder: Path) -> None:
    """Create the shared files afresh in ``folder`` before the workers start."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (RATE_ADDRESS, RATE_PRINCIPAL, RATE_CODES, RATE_LANDING, TALLY_FILE, ERASURES):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    (folder / METRICS).mkdir(exist_ok=True)
    tally = SharedTally(folder / TALLY_FILE)
    tally.reset()
    tally.close()
