"""Times as the store keeps them: ISO-8601 text in UTC with microseconds.

Fixed-width UTC text sorts and compares correctly as a string on every store, so windows and
keyset pagination behave the same on Neo4j and the embedded server.

>>> from datetime import datetime, timedelta, timezone
>>> to_store(datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))
'2026-01-01T10:00:00.000000+00:00'
>>> from_store('2026-01-01T10:00:00.000000+00:00').hour
10
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def to_store(value: datetime) -> str:
    """``value`` (timezone-aware) as fixed-width UTC text."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime")
    # isoformat pads the year to four digits; strftime("%Y") does not on every platform.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_store(value: str) -> datetime:
    return datetime.fromisoformat(value)


def is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None
