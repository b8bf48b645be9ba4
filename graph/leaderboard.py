"""Leaderboards: who refers the most, counted in Cypher from one anchor.

A network's leaderboard ranks its active members by the referrals they made to other active
members; a professional's top referrers rank the parties (customers and professionals) whose
referrals name it. Both read only from their anchor outwards (the network's members, the
professional's received referrals), so the work per request is bounded by the anchor's
neighbourhood, never by the graph. Windows are [since, until) on the referral's createdAt; a
referral confirmed as fraud (``r.fraud = true``) counts nowhere.

The store aggregates, orders and cuts to ``limit``; ranks are then read off the ordered rows:
an entry's rank is one more than the number of entries with a strictly greater value, and every
such entry comes before it in the order, so the first ``limit`` rows hold all it needs.

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


_WINDOW = """r.fraud IS NULL AND ($since IS NULL OR r.createdAt >= $since)
  AND ($until IS NULL OR r.createdAt < $until)"""
# Conversions and value count converted referrals only: filtering before the aggregate keeps
# the rows small. The job's value is summed by the store over the stored values.
_CONVERTED = " AND r.status = 'CONVERTED'"
_COUNT = "count(r)"
_VALUE = "sum(coalesce(j.value, 0.0))"

# The referrals a network's active members made to other active members.
_NETWORK_MATCH = f"""
MATCH (n:Network {{id: $id}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(b:Professional)-[:{MEMBER}]->(n)
WHERE a.id <> b.id AND {_WINDOW}"""
# The referrals naming one professional, by whoever made them.
_PROFESSIONAL_MATCH = f"""
MATCH (p:Professional {{id: $id}})<-[:FOR]-(r:Referral)<-[:MADE]-(a)
WHERE {_WINDOW}"""
_JOB = "\nOPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)"
# Zero-value entries (converted referrals whose jobs carry no value) are left out.
_TOP = """
WITH a.id AS party, {aggregate} AS value
WHERE value > 0
RETURN party, value
ORDER BY value DESC, party
LIMIT $limit
"""


def _query(match: str, metric: LeaderboardMetric) -> str:
    if metric is LeaderboardMetric.REFERRALS:
        return match + _TOP.format(aggregate=_COUNT)
    if metric is LeaderboardMetric.CONVERSIONS:
        return match + _CONVERTED + _TOP.format(aggregate=_COUNT)
    return match + _CONVERTED + _JOB + _TOP.format(aggregate=_VALUE)


NETWORK_LEADERBOARD = {m: _query(_NETWORK_MATCH, m) for m in LeaderboardMetric}
TOP_REFERRERS = {m: _query(_PROFESSIONAL_MATCH, m) for m in LeaderboardMetric}


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


async def _top(store: Store, query: str, anchor: str, since: str | None, until: str | None,
               limit: int) -> list[Entry]:
    rows = await store.read(query, id=anchor, since=since, until=until, limit=limit)
    return ranked([(row["party"], float(row["value"])) for row in rows])


async def network_leaderboard(
    store: Store, network_id: str, metric: LeaderboardMetric, since: str | None,
    until: str | None, limit: int,
) -> list[Entry]:
    """The network's active members ranked by ``metric`` over referrals to other active
    members in [since, until) (store text, either end open); ``limit`` lies in 1..RG_MAX_LIMIT
    (the API's argument rules, ``graph.rules.ARGUMENT_RULES``)."""
    return await _top(store, NETWORK_LEADERBOARD[metric], network_id, since, until, limit)


async def top_referrers(
    store: Store, professional_id: str, metric: LeaderboardMetric, since: str | None,
    until: str | None, limit: int,
) -> list[Entry]:
    """The parties whose referrals name the professional, ranked by ``metric``."""
    return await _top(store, TOP_REFERRERS[metric], professional_id, since, until, limit)
