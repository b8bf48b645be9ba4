"""Relay-style keyset pagination.

A cursor is the opaque encoding of the sort key of a row plus its id. The next page starts
strictly after that key, so rows inserted meanwhile never shift a page: nothing is skipped or
repeated, unlike offset paging.

>>> decode_cursor(encode_cursor(["2026-01-01", "ref_1"]))
['2026-01-01', 'ref_1']
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
MAX_FIRST = 100


class PageArgumentError(ValueError):
    """``first`` or ``after`` is out of range or malformed: the query fails as a whole."""


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise PageArgumentError("after is not a cursor from this service") from None
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        raise PageArgumentError("after is not a cursor from this service")
    return key


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: tuple[str, ...] | None

    @classmethod
    def of(
        cls, first: int | None, after: str | None, key_len: int, max_first: int = MAX_FIRST
    ) -> PageRequest:
        """Check ``first`` and decode ``after`` for a list whose sort key has ``key_len``
        parts (the id included)."""
        if first is None or not 1 <= first <= max_first:
            raise PageArgumentError(f"first must be between 1 and {max_first}, got {first}")
        key = None if after is None else tuple(decode_cursor(after))
        if key is not None and len(key) != key_len:
            raise PageArgumentError("after is a cursor of another list")
        return cls(first, key)


@dataclass
class Page(Generic[T]):
    """One page: items with their cursors, whether more follow (or precede), and the total
    count."""

    items: list[tuple[str, T]] = field(default_factory=list)
    has_next: bool = False
    total: int = 0
    # Paging runs forward only, so rows precede this page exactly when it starts after a
    # cursor; Relay's PageInfo needs the answer either way.
    has_previous: bool = False

    @property
    def start_cursor(self) -> str | None:
        return self.items[0][0] if self.items else None

    @property
    def end_cursor(self) -> str | None:
        return self.items[-1][0] if self.items else None


def make_page(
    rows: list[T], request: PageRequest, total: int, key: Callable[[T], Sequence[str]]
) -> Page[T]:
    """Cut ``rows`` (fetched with one extra row to see whether more follow) to a page."""
    kept = rows[: request.first]
    return Page(
        items=[(encode_cursor(key(row)), row) for row in kept],
        has_next=len(rows) > request.first,
        total=total,
        has_previous=request.after is not None,
    )
