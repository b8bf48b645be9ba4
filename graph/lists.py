"""Batched connection queries: many pages, one round trip.

A DataLoader collects the pages a request asks for (the jobs of 20 professionals, say) as
:class:`ListKey` values; :func:`fetch_pages` answers them with one ``UNWIND $keys`` query whose
``CALL`` subqueries cut each page by keyset and count its total. The queries are built once, at
import time, from fixed anchors in code: nothing from a request ever enters the Cypher text.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from graph import timeutil
from graph.pagination import Page, PageRequest, make_page
from graph.store import Row, Store

T = TypeVar("T")


def party_map(var: str) -> str:
    """A customer's or professional's map (fields the other lacks come back null)."""
    return (f"{var} {{.id, .name, .trades, .area, .createdAt, .erased, "
            f"reputation: coalesce({var}.reputation, 0.0)}}")


def with_parties(projection: str, parties: list[str]) -> str:
    """``projection`` (a map ending in ``}``) with the parties it links to under ``parties``, so
    that a page brings the objects its rows name and their loaders need no round trip."""
    return f"{projection[:-1]},\n  parties: [{', '.join(parties)}]}}"


@dataclass(frozen=True)
class ListKey:
    """One page of one list: whose list, which page, and the list's own filters."""

    owner: str | None
    page: PageRequest
    status: str | None = None
    referrer: str | None = None
    total: bool = True  # whether the client asked for totalCount

    def param(self, index: int) -> dict[str, object]:
        return {
            "i": index,
            "owner": self.owner,
            "after": list(self.page.after) if self.page.after else None,
            "status": self.status,
            "referrer": self.referrer,
        }


@dataclass(frozen=True)
class ListQuery:
    """A batched page query, with and without counting each list's total."""

    with_total: str
    without_total: str


def newest_first(anchor: str, ts: str, projection: str, where: str = "true") -> ListQuery:
    """Rows ``x`` matched by ``anchor``, ordered by the timestamp ``x.<ts>`` then id, newest
    first; ``where`` is an extra fixed condition that may use ``k``."""
    condition = f"""({where})
    AND (k.after IS NULL OR x.{ts} < k.after[0]
         OR (x.{ts} = k.after[0] AND x.id < k.after[1]))"""
    return _batched(anchor, condition, f"x.{ts} DESC, x.id DESC", projection, where)


def highest_first(anchor: str, number: str, projection: str, where: str = "true") -> ListQuery:
    """Rows ``x`` matched by ``anchor``, ordered by the integer ``x.<number>``, unique within a
    list, highest first; its cursor holds the number as text."""
    condition = f"""({where})
    AND (k.after IS NULL OR x.{number} < toInteger(k.after[0]))"""
    return _batched(anchor, condition, f"x.{number} DESC", projection, where)


def by_id(anchor: str, projection: str) -> ListQuery:
    """Rows ``x`` matched by ``anchor``, ordered by id."""
    condition = "k.after IS NULL OR x.id > k.after[0]"
    return _batched(anchor, condition, "x.id", projection, "true")


def _batched(
    anchor: str, page_where: str, order: str, projection: str, where: str
) -> ListQuery:
    page = f"""
UNWIND $keys AS k
CALL (k) {{
  MATCH {anchor}
  WHERE {page_where}
  WITH x ORDER BY {order} LIMIT $limit
  RETURN collect({projection}) AS rows
}}"""
    count = f"""
CALL (k) {{
  MATCH {anchor}
  WHERE {where}
  RETURN count(x) AS total
}}"""
    return ListQuery(
        with_total=f"{page}{count}\nRETURN k.i AS i, rows, total\n",
        without_total=f"{page}\nRETURN k.i AS i, rows, 0 AS total\n",
    )


async def fetch_pages(
    store: Store,
    query: ListQuery,
    keys: Sequence[ListKey],
    from_row: Callable[[Row], T],
    cursor_key: Callable[[T], Sequence[str]],
) -> list[Page[T]]:
    """Answer every key with one round trip; pages come back in key order. Totals are counted
    only when some key asks for them (counting a long list costs more than its first page)."""
    limit = max(k.page.first for k in keys) + 1
    text = query.with_total if any(k.total for k in keys) else query.without_total
    rows = await store.read(text, keys=[k.param(i) for i, k in enumerate(keys)], limit=limit)
    by_index = {r["i"]: r for r in rows}
    pages = []
    for i, key in enumerate(keys):
        row = by_index[i]
        items = [from_row(item) for item in row["rows"]][: key.page.first + 1]
        pages.append(make_page(items, key.page, row["total"], cursor_key))
    return pages


# A global newest-first list (no anchor node) is read in a time window that ends at the cursor
# and is widened until it holds the page: the store then serves the window from the index on
# the timestamp and sorts only the rows inside it, so a page costs about the same however long
# the list is. ORDER BY ... LIMIT over the whole label is not served from that index by the
# embedded store: it sorts every row.
FIRST_WINDOW = timedelta(hours=1)
WIDEN_BY = 4
# Past this width the window is dropped and the rest of the list is read as a whole.
LAST_WINDOW = timedelta(days=365 * 30)


@dataclass(frozen=True)
class WindowedQuery:
    """A global newest-first list: its first page in a window, a later page in a window that
    ends at the cursor, a page without a window, its count, and its newest timestamp."""

    first: str
    later: str
    unbounded: str
    count: str
    count_all: str
    newest: str


def windowed_newest_first(
    label: str, ts: str, projection: str, where: str = "true"
) -> WindowedQuery:
    """Rows ``(x:<label>)`` newest first by ``x.<ts>`` then id. ``where`` is a fixed condition
    on ``$``-parameters; the page reads ``$from`` (the window's start, inclusive), ``$upper``
    and ``$afterId`` (the cursor, or null) and ``$limit``."""
    after = f"""($upper IS NULL OR x.{ts} < $upper
       OR (x.{ts} = $upper AND x.id < $afterId))
  AND ({where})"""
    tail = f"""WITH x ORDER BY x.{ts} DESC, x.id DESC LIMIT $limit
RETURN {projection} AS row
"""
    # Both ends of the window are plain comparisons with the property, so that both bound
    # the index range: a predicate that may be true whatever the property ("$upper IS NULL
    # OR ...") bounds nothing, and a window open at the top would scan every newer row.
    return WindowedQuery(
        first=f"MATCH (x:{label})\nWHERE x.{ts} >= $from\n  AND {after}\n{tail}",
        later=f"MATCH (x:{label})\nWHERE x.{ts} >= $from AND x.{ts} <= $upper\n  AND {after}\n"
              f"{tail}",
        unbounded=f"MATCH (x:{label})\nWHERE {after}\n{tail}",
        count=f"MATCH (x:{label})\nWHERE {where}\nRETURN count(x) AS total\n",
        count_all=_count_all(label),
        newest=f"MATCH (x:{label}) RETURN max(x.{ts}) AS newest\n",
    )


def _count_all(label: str) -> str:
    """The count of a whole label, which the stores keep: any WHERE, even one true for every
    row, makes the embedded store read every row instead (about a second for 500k)."""
    return f"MATCH (x:{label}) RETURN count(x) AS total\n"


async def _total(store: Store, count: str, count_all: str, params: dict[str, object]) -> int:
    """The list's total: the label's own count when no filter is set."""
    if all(value is None for value in params.values()):
        return int((await store.read(count_all))[0]["total"])
    return int((await store.read(count, **params))[0]["total"])


@dataclass
class _Hints:
    """What earlier pages of one list taught: the newest timestamp seen (where the first page's
    window ends; rows newer than it are read too, as the first window has no upper end) and
    the width that last filled a page. They only save round trips: any value gives the same
    rows."""

    newest: str | None = None
    width: dict[tuple[object, ...], timedelta] = field(default_factory=dict)


_HINTS: dict[str, _Hints] = {}


async def fetch_windowed_page(
    store: Store,
    query: WindowedQuery,
    key: ListKey,
    params: dict[str, object],
    from_row: Callable[[Row], T],
    cursor_key: Callable[[T], Sequence[str]],
) -> Page[T]:
    """One page of a global list, read in widening windows (see ``FIRST_WINDOW``)."""
    hints = _HINTS.setdefault(query.first, _Hints())
    limit = key.page.first + 1
    upper, after_id = (key.page.after[0], key.page.after[1]) if key.page.after else (None, None)
    end = upper if upper is not None else hints.newest
    if end is None:
        row = (await store.read(query.newest))[0]
        end = hints.newest = row["newest"]
    # First pages (at the newest, densest end) and later ones learn their widths apart.
    shape = (upper is None, *sorted(params.items()))
    width = hints.width.get(shape, FIRST_WINDOW)
    common = {**params, "upper": upper, "afterId": after_id, "limit": limit}
    rows: list[Row] = []
    if end is not None:
        end_at = timeutil.from_store(end)
        while width <= LAST_WINDOW:
            start = timeutil.to_store(end_at - width)
            text = query.first if upper is None else query.later
            rows = await store.read(text, **common, **{"from": start})
            if len(rows) >= limit:
                # The next page likely needs about as wide a window.
                hints.width[shape] = width
                break
            width *= WIDEN_BY
    if len(rows) < limit:
        rows = await store.read(query.unbounded, **common)
    items = [from_row(r["row"]) for r in rows]
    if items and upper is None:
        first = cursor_key(items[0])[0]
        if hints.newest is None or first > hints.newest:
            hints.newest = first
    total = await _total(store, query.count, query.count_all, params) if key.total else 0
    return make_page(items, key.page, total, cursor_key)


# A global list ordered by id is read the same way, in an id range that starts at the cursor
# and is widened until it holds the page: the unique index on id serves the range, while
# ORDER BY x.id LIMIT over the whole label sorts every row of the label in the embedded store.
# Ids are strings, so a range's upper end is found by reading an id as a number: its
# characters are digits of base 64, in the order the stores compare them (code points).
ID_DIGITS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
# Longer than any id (a prefix, "_" and at most 64 characters): every id maps exactly.
ID_PLACES = 72
ID_SPACE = len(ID_DIGITS) ** ID_PLACES
# A window is made this much wider than the density learnt from earlier pages asks for, so
# that a page usually fills at the first read.
ID_MARGIN = 2.0
# How many id-window shapes (filter values) keep what they learnt; the oldest go first.
ID_SHAPES = 256


def id_number(node_id: str) -> int:
    """``node_id`` as a number that orders like the string (exact for id characters; any other
    character counts as the id character just below it, which only makes a window narrower)."""
    value = 0
    for place in range(ID_PLACES):
        digit = 0
        if place < len(node_id):
            digit = max(0, bisect.bisect_right(ID_DIGITS, node_id[place]) - 1)
        value = value * len(ID_DIGITS) + digit
    return value


def id_string(value: int) -> str:
    """The string of ``ID_PLACES`` id characters whose :func:`id_number` is ``value``."""
    digits = []
    for _ in range(ID_PLACES):
        value, digit = divmod(value, len(ID_DIGITS))
        digits.append(ID_DIGITS[digit])
    return "".join(reversed(digits))


@dataclass(frozen=True)
class IdWindowQuery:
    """A global list by id: its first page below an upper end, a later page between the cursor
    and an upper end, a page without a window, and its count."""

    first: str
    later: str
    unbounded: str
    count: str
    count_all: str


def windowed_by_id(label: str, projection: str, where: str = "true") -> IdWindowQuery:
    """Rows ``(x:<label>)`` by id. ``where`` is a fixed condition on ``$``-parameters; a page
    reads ``$after`` (the cursor, or null), ``$upper`` (the window's end, exclusive) and
    ``$limit``."""
    tail = f"""  AND ({where})
WITH x ORDER BY x.id LIMIT $limit
RETURN {projection} AS row
"""
    # As for the time windows: each end is a plain comparison with x.id, so that it bounds
    # the index range.
    return IdWindowQuery(
        first=f"MATCH (x:{label})\nWHERE x.id < $upper\n{tail}",
        later=f"MATCH (x:{label})\nWHERE x.id > $after AND x.id < $upper\n{tail}",
        unbounded=f"MATCH (x:{label})\nWHERE ($after IS NULL OR x.id > $after)\n{tail}",
        count=f"MATCH (x:{label})\nWHERE {where}\nRETURN count(x) AS total\n",
        count_all=_count_all(label),
    )


@dataclass
class _IdHints:
    """What earlier pages of one list taught: the smallest id a first page started with (the
    first window ends above it; smaller ids made since are read too, as that window has no
    lower end) and, per filter shape, how many rows a unit of id space held. They only save
    round trips: any value gives the same rows."""

    head: int | None = None
    density: OrderedDict[tuple[object, ...], float] = field(default_factory=OrderedDict)

    def density_for(self, shape: tuple[object, ...], plain: tuple[object, ...]) -> float | None:
        """The shape's own density, else the unfiltered list's (a filter only makes it lower,
        and the window then widens)."""
        if shape in self.density:
            self.density.move_to_end(shape)
            return self.density[shape]
        return self.density.get(plain)

    def learn(self, shape: tuple[object, ...], rows: int, span: int) -> None:
        self.density[shape] = rows / max(1, span)
        self.density.move_to_end(shape)
        while len(self.density) > ID_SHAPES:
            self.density.popitem(last=False)


_ID_HINTS: dict[str, _IdHints] = {}


async def fetch_id_window_page(
    store: Store,
    query: IdWindowQuery,
    key: ListKey,
    params: dict[str, object],
    from_row: Callable[[Row], T],
    id_of: Callable[[T], str],
) -> Page[T]:
    """One page of a global list by id, read in widening id windows (see ``ID_DIGITS``).

    Until the list has taught a density, the page is read without a window (the cost of a
    sort, once per process and list)."""
    hints = _ID_HINTS.setdefault(query.first, _IdHints())
    limit = key.page.first + 1
    after = key.page.after[0] if key.page.after else None
    shape = tuple(sorted(params.items()))
    plain = tuple((name, None) for name, _ in shape)
    start = id_number(after) if after is not None else hints.head
    density = hints.density_for(shape, plain)
    common = {**params, "after": after, "limit": limit}
    rows: list[Row] = []
    if start is not None and density is not None:
        width = max(1, int(limit / density * ID_MARGIN))
        factor, misses = WIDEN_BY, 0
        while start + width < ID_SPACE:
            text = query.first if after is None else query.later
            rows = await store.read(text, **common, upper=id_string(start + width))
            if len(rows) >= limit:
                break
            width *= factor
            # Ids cluster (a seeded import, then ids made over time): a page may have to
            # cross a gap far wider than the density foretold. From the second miss on the
            # factor squares, so that even the whole id space is crossed in a few reads.
            misses += 1
            if misses >= 2:
                factor *= factor
    if len(rows) < limit:
        rows = await store.read(query.unbounded, **common)
    items = [from_row(r["row"]) for r in rows]
    if len(items) >= limit:
        # Rows per unit of id space over this page, measured from the cursor when there is
        # one (the space before the first row counts too: a window starts at the cursor).
        if after is not None:
            hints.learn(shape, len(items), id_number(id_of(items[-1])) - id_number(after))
        else:
            hints.learn(shape, len(items) - 1,
                        id_number(id_of(items[-1])) - id_number(id_of(items[0])))
    if items and after is None:
        first = id_number(id_of(items[0]))
        if hints.head is None or first < hints.head:
            hints.head = first
    total = await _total(store, query.count, query.count_all, params) if key.total else 0
    return make_page(items, key.page, total, lambda item: (id_of(item),))
