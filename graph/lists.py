"""Batched connection queries: many pages, one round trip.

A DataLoader collects the pages a request asks for (the jobs of 20 professionals, say) as
:class:`ListKey` values; :func:`fetch_pages` answers them with one ``UNWIND $keys`` query whose
``CALL`` subqueries cut each page by keyset and count its total. The queries are built once, at
import time, from fixed anchors in code: nothing from a request ever enters the Cypher text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

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
