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

from datetime import UTC, datetime, timedelta

DAY = timedelta(days=1)


def now() -> datetime:
    return datetime.now(UTC)


def to_store(value: datetime) -> str:
    """``value`` (timezone-aware) as fixed-width UTC text."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime")
    # isoformat pads the year to four digits; strftime("%Y") does not on every platform.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_store(value: str) -> datetime:
    """Store text as a datetime; an unpadded year (``'999-06-01...'``, written by earlier
    versions for years before 1000) still reads, so such a row does not break every read.

    >>> from_store('999-06-01T00:00:00.000000+00:00').year
    999
    """
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        year, sep, rest = value.partition("-")
        if not (sep and year.isdigit() and len(year) < 4):
            raise
        return datetime.fromisoformat(f"{int(year):04d}-{rest}")


def is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def days_between(start: str, end: str) -> float:
    """Days from one store time to another, to the microsecond (the same float wherever it is
    taken: a stored duration and one taken from the times agree exactly).

    >>> days_between("2026-01-01T00:00:00.000000+00:00", "2026-01-02T12:00:00.000000+00:00")
    1.5
    """
    return (from_store(end) - from_store(start)) / DAY
