"""Leaderboards: who refers the most, counted in Cypher from one anchor.

A network's leaderboard ranks its active members by the referrals they made to other active
members; a professional's top referrers rank the parties (customers and professionals) whose
referrals name it. Both read only from their anchor outwards (the network's members, the
professional's received referrals), so the work per request is bounded by the anchor's
neighbourhood, never by the graph. Windows are [since, until) on the referral's createdAt; a
referral confirmed as fraud (``r.fraud = true``) counts nowhere.

The store aggregates per party; the rows are then ordered and cut to ``limit``, and ranks are
read off the ordered rows: an entry's rank is one more than the number of entries with a
strictly greater value, and every such entry comes before it in the order, so the first
``limit`` rows hold all it needs.

>>> [e.rank for e in ranked([("a", 5.0), ("b", 3.0), ("c", 3.0), ("d", 1.0)])]
[1, 2, 2, 4]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from graph.membership import MEMBER
from graph.store import Store


class LeaderboardMetric(StrEnum):
    REFERRALS = "REFERRALS"
    CONVERSIONS = "CONVERSIONS"
    VALUE = "VALUE"


_WINDOW = """r.fraud IS NULL AND (k.since IS NULL OR r.createdAt >= k.since)
  AND (k.until IS NULL OR r.createdAt < k.until)"""
# Conversions and value count converted referrals only: filtering before the aggregate keeps
# the rows small. The job's value is summed by the store over the stored values.
_CONVERTED = " AND r.status = 'CONVERTED'"
_COUNT = "count(r)"
_VALUE = "sum(coalesce(j.value, 0.0))"

# The referrals a network's active members made to other active members.
_NETWORK_MATCH = f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.id}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(b:Professional)-[:{MEMBER}]->(n)
WHERE a.id <> b.id AND {_WINDOW}"""
# The referrals naming one professional, by whoever made them.
_PROFESSIONAL_MATCH = f"""
UNWIND $keys AS k
MATCH (p:Professional {{id: k.id}})<-[:FOR]-(r:Referral)<-[:MADE]-(a)
WHERE {_WINDOW}"""
_JOB = "\nOPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)"
# One row per key and party with a positive value: zero-value entries (converted referrals
# whose jobs carry no value) are left out. The rows per key are bounded by the anchor's
# neighbourhood (its members, or the parties that referred to it); ordering and the cut to
# each key's limit follow in Python, since LIMIT in Cypher cuts the whole batch.
_TOP = """
WITH k.i AS i, a.id AS party, {aggregate} AS value
WHERE value > 0
RETURN i, party, value
"""


def _query(match: str, metric: LeaderboardMetric) -> str:
    if metric is LeaderboardMetric.REFERRALS:
        return match + _TOP.format(aggregate=_COUNT)
    if metric is LeaderboardMetric.CONVERSIONS:
        return match + _CONVERTED + _TOP.format(aggregate=_COUNT)
    return match + _CONVERTED + _JOB + _TOP.format(aggregate=_VALUE)


class Board(StrEnum):
    NETWORK = "NETWORK"  # a network's active members
    PROFESSIONAL = "PROFESSIONAL"  # the parties referring to one professional


QUERIES = {
    (Board.NETWORK, m): _query(_NETWORK_MATCH, m) for m in LeaderboardMetric
} | {(Board.PROFESSIONAL, m): _query(_PROFESSIONAL_MATCH, m) for m in LeaderboardMetric}


@dataclass(frozen=True)
class LeaderboardKey:
    """One leaderboard: ``anchor`` is the network's or the professional's id; the window is
    store text, either end open; ``limit`` lies in 1..RG_MAX_LIMIT (the API's argument rules,
    ``graph.rules.ARGUMENT_RULES``)."""

    board: Board
    anchor: str
    metric: LeaderboardMetric
    since: str | None
    until: str | None
    limit: int


@dataclass(frozen=True)
class Entry:
    rank: int
    party_id: str
    value: float


def ranked(rows: Sequence[tuple[str, float]]) -> list[Entry]:
    """Entries of rows ordered by value (highest first): equal values share a rank."""
    out: list[Entry] = []
    for i, (party, value) in enumerate(rows):
        rank = out[-1].rank if out and out[-1].value == value else i + 1
        out.append(Entry(rank, party, value))
    return out


async def leaderboards(store: Store, keys: Sequence[LeaderboardKey]) -> list[list[Entry]]:
    """Many leaderboards in one round trip per (board, metric) among them, in key order."""
    found: list[list[tuple[str, float]]] = [[] for _ in keys]
    groups: dict[tuple[Board, LeaderboardMetric], list[dict[str, object]]] = {}
    for i, key in enumerate(keys):
        groups.setdefault((key.board, key.metric), []).append(
            {"i": i, "id": key.anchor, "since": key.since, "until": key.until})
    for group, params in groups.items():
        for row in await store.read(QUERIES[group], keys=params):
            found[row["i"]].append((row["party"], float(row["value"])))
    return [ranked(sorted(rows, key=lambda pv: (-pv[1], pv[0]))[:key.limit])
            for rows, key in zip(found, keys, strict=True)]
