"""Measurement: referral funnels, grouped statistics, and a network's give-and-take.

Every figure is counted by the store from one anchor outwards: a professional's received
referrals, the referrals between a network's active members, or (for admins' statistics) all
referrals, aggregated in Cypher so that only one row per group comes back. Windows are
[since, until) on the referral's createdAt; a referral confirmed as fraud (``r.fraud = true``)
counts nowhere.

A funnel counts referrals by where they went: ``accepted`` counts those whose history holds
ACCEPTED (so also those that went on to CONVERTED or DECLINED after it), ``open`` those still
SENT or ACCEPTED. The median days to convert is exact: the store hands over, per group, the
days from SENT to CONVERTED (which is final) of each converted referral, and their median is
taken here (for an even count the mean of the two middle values). A conversion stores those
days (``convertedDays``, to the microsecond) and the job's value (``convertedValue``) on the
referral (graph.referrals, graph.bulk, and a migration for older ones), so that a statistic
reads two numbers per converted referral: parsing the status times in Cypher (``datetime()``)
took half the time of a statistic over all referrals on the embedded store, and handing them
over to be parsed here, with a walk to each job, about a third. A converted referral without
them (written by other means) still counts exactly: its first and last status times come over
instead, and its value is read from its job. The days are a fraction of the rows counted,
never the graph.

>>> median([3.0, 1.0, 2.0]), median([4.0, 1.0, 3.0, 2.0]), median([])
(2.0, 2.5, None)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from graph import timeutil
from graph.errors import ValidationError
from graph.membership import MEMBER
from graph.reciprocity import month_start
from graph.rules import group_by_problem
from graph.store import Row, Store


class Dimension(StrEnum):
    MONTH = "MONTH"
    TRADE = "TRADE"
    AREA = "AREA"
    STATUS = "STATUS"
    CHANNEL = "CHANNEL"
    REFERRER_KIND = "REFERRER_KIND"


class Scope(StrEnum):
    """Which referrals a funnel or a statistic counts."""

    ALL = "ALL"  # every referral (admins)
    PROFESSIONAL = "PROFESSIONAL"  # those naming one professional
    NETWORK = "NETWORK"  # those between a network's active members
    NETWORK_PROFESSIONAL = "NETWORK_PROFESSIONAL"  # those of NETWORK naming one professional


# Each dimension's value for a referral r naming p; the Cypher of a statistic is put together
# from these fixed fragments only, never from input. The referrer is read only when asked for:
# the scopes that do not need it for their own rule leave it out of their pattern.
DIMENSIONS: dict[Dimension, str] = {
    Dimension.MONTH: "substring(r.createdAt, 0, 7)",
    Dimension.TRADE: "coalesce(head(p.trades), '')",
    Dimension.AREA: "coalesce(p.area, '')",
    Dimension.STATUS: "r.status",
    Dimension.CHANNEL: "coalesce(r.channel, 'DIRECT')",
    Dimension.REFERRER_KIND: """head([(r)<-[:MADE]-(x) |
      CASE WHEN x:Customer THEN 'CUSTOMER' ELSE 'PROFESSIONAL' END])""",
}

_WINDOW = """r.fraud IS NULL AND (k.since IS NULL OR r.createdAt >= k.since)
  AND (k.until IS NULL OR r.createdAt < k.until)"""
# A self-referral is refused when made; a network's figures leave out any older one, as its
# leaderboard does, since it is no referral between two members. Over all referrals the walk
# starts from the professionals: on the embedded store about twice as fast as from the
# referrals' label, for the same rows.
_MATCHES: dict[Scope, str] = {
    Scope.ALL: f"""
UNWIND $keys AS k
MATCH (p:Professional)<-[:FOR]-(r:Referral)
WHERE {_WINDOW}""",
    Scope.PROFESSIONAL: f"""
UNWIND $keys AS k
MATCH (p:Professional {{id: k.professional}})<-[:FOR]-(r:Referral)
WHERE {_WINDOW}""",
    Scope.NETWORK: f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.network}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(p:Professional)-[:{MEMBER}]->(n)
WHERE a.id <> p.id AND {_WINDOW}""",
    Scope.NETWORK_PROFESSIONAL: f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.network}})<-[:{MEMBER}]-(p:Professional {{id: k.professional}})
MATCH (n)<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)-[:FOR]->(p)
WHERE a.id <> p.id AND {_WINDOW}""",
}
# Converted referrals hand over their stored days and value; only one without them has its
# status times handed over and its job read, by a pattern comprehension (an OPTIONAL MATCH for
# every referral cost twice the whole statement on the embedded store). Everything is computed
# inside the aggregates: a WITH stage before them cost the embedded store half as much again.
_FUNNEL = """
RETURN k.i AS i, {dimensions}count(r) AS referrals,
       sum(CASE WHEN 'ACCEPTED' IN r.statusHistory THEN 1 ELSE 0 END) AS accepted,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted,
       sum(CASE WHEN r.status = 'DECLINED' THEN 1 ELSE 0 END) AS declined,
       sum(CASE WHEN r.status = 'EXPIRED' THEN 1 ELSE 0 END) AS expired,
       sum(CASE WHEN r.status IN ['SENT', 'ACCEPTED'] THEN 1 ELSE 0 END) AS open,
       collect(CASE WHEN r.status = 'CONVERTED'
                    THEN coalesce(r.convertedDays, r.statusTimes) END) AS spans,
       sum(CASE WHEN r.status <> 'CONVERTED' THEN 0.0
                WHEN r.convertedValue IS NOT NULL THEN r.convertedValue
                ELSE coalesce(head([(r)-[:CONVERTED_TO]->(j:Job) | j.value]), 0.0) END) AS value
"""

# Ordered pairs of a network's active members, and month by month counts between them.
_MEMBER_REFERRALS = f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.network}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(b:Professional)-[:{MEMBER}]->(n)
WHERE a.id <> b.id AND {_WINDOW}"""
MATRIX = _MEMBER_REFERRALS + """
RETURN k.i AS i, a.id AS giver, b.id AS receiver, count(r) AS referrals,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted,
       sum(CASE WHEN r.status = 'CONVERTED'
                THEN coalesce(head([(r)-[:CONVERTED_TO]->(j:Job) | j.value]), 0.0)
                ELSE 0.0 END) AS value
"""
MONTHS = _MEMBER_REFERRALS + """
RETURN k.i AS i, substring(r.createdAt, 0, 7) AS month, count(r) AS referrals,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted
"""


@cache
def funnel_query(scope: Scope, dimensions: tuple[Dimension, ...] = ()) -> str:
    """The statement counting funnels of ``scope``, one row per key and group of
    ``dimensions`` (returned as ``d0``, ``d1``, ... in their order)."""
    return _MATCHES[scope] + _FUNNEL.format(
        dimensions="".join(f"{DIMENSIONS[d]} AS d{n}, " for n, d in enumerate(dimensions)))


def check_group_by(dimensions: Sequence[Dimension], field: Sequence[str] = ("groupBy",)) -> None:
    """Distinct dimensions, at most ``graph.rules.MAX_GROUP_BY`` of them (the API's argument
    rules refuse others before they get here)."""
    problem = group_by_problem([d.value for d in dimensions])
    if problem is not None:
        raise ValidationError(f"groupBy: {problem}", field)


@dataclass(frozen=True)
class Funnel:
    referrals: int = 0
    accepted: int = 0
    converted: int = 0
    declined: int = 0
    expired: int = 0
    open: int = 0
    median_days_to_convert: float | None = None
    value: float = 0.0

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.referrals if self.referrals else 0.0

    @classmethod
    def from_row(cls, row: Row) -> Funnel:
        return cls(
            referrals=int(row["referrals"]), accepted=int(row["accepted"]),
            converted=int(row["converted"]), declined=int(row["declined"]),
            expired=int(row["expired"]), open=int(row["open"]),
            median_days_to_convert=median([_span(s) for s in row["spans"]]),
            value=float(row["value"] or 0.0),
        )


@dataclass(frozen=True)
class FunnelKey:
    """One funnel: the window is store text, either end open; ``network`` for NETWORK scopes,
    ``professional`` for PROFESSIONAL ones."""

    scope: Scope
    network: str | None = None
    professional: str | None = None
    since: str | None = None
    until: str | None = None

    def param(self, i: int) -> dict[str, object]:
        return {"i": i, "network": self.network, "professional": self.professional,
                "since": self.since, "until": self.until}


@dataclass(frozen=True)
class StatsRow:
    key: tuple[str, ...]
    funnel: Funnel


def _span(value: float | list[str]) -> float:
    """A converted referral's days: stored, or from its status times (first and last)."""
    if isinstance(value, list):
        return timeutil.days_between(value[0], value[-1])
    return float(value)


def median(values: Sequence[float]) -> float | None:
    """The exact median; for an even count the mean of the two middle values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


async def funnels(store: Store, keys: Sequence[FunnelKey]) -> list[Funnel]:
    """Many funnels in one round trip per scope among them, in key order."""
    out = [Funnel() for _ in keys]
    groups: dict[Scope, list[dict[str, object]]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key.scope, []).append(key.param(i))
    for scope, params in groups.items():
        for row in await store.read(funnel_query(scope), keys=params):
            out[row["i"]] = Funnel.from_row(row)
    return out


def _text(value: object) -> str:
    # A referrer whose node is gone has no kind: it groups as "", as a missing area does.
    return "" if value is None else str(value)


async def stats(store: Store, key: FunnelKey, dimensions: Sequence[Dimension]) -> list[StatsRow]:
    """Funnels of the referrals of ``key`` grouped by ``dimensions``, rows sorted by key; no
    dimensions make one row with an empty key (zero counts when nothing matches)."""
    check_group_by(dimensions)
    dims = tuple(dimensions)
    rows = await store.read(funnel_query(key.scope, dims), keys=[key.param(0)])
    found = [StatsRow(tuple(_text(row[f"d{n}"]) for n in range(len(dims))), Funnel.from_row(row))
             for row in rows]
    if not dims and not found:
        found = [StatsRow((), Funnel())]
    return sorted(found, key=lambda s: s.key)


@dataclass(frozen=True)
class MatrixKey:
    network: str
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class Cell:
    giver: str
    receiver: str
    referrals: int
    converted: int
    value: float


async def matrices(store: Store, keys: Sequence[MatrixKey]) -> list[list[Cell]]:
    """The reciprocity matrices of many (network, window) keys in one round trip, in key
    order, each by giver then receiver id."""
    params = [{"i": i, "network": k.network, "since": k.since, "until": k.until}
              for i, k in enumerate(keys)]
    out: list[list[Cell]] = [[] for _ in keys]
    for row in await store.read(MATRIX, keys=params):
        out[row["i"]].append(Cell(row["giver"], row["receiver"], int(row["referrals"]),
                                  int(row["converted"]), float(row["value"] or 0.0)))
    return [sorted(cells, key=lambda c: (c.giver, c.receiver)) for cells in out]


@dataclass(frozen=True)
class TrendKey:
    """``months`` lies in 1..``graph.rules.MAX_MONTHS`` (the API's argument rules)."""

    network: str
    months: int


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    referrals: int
    converted: int


async def network_trends(store: Store, keys: Sequence[TrendKey]) -> list[list[Month]]:
    """For many (network, months) keys in one round trip, in key order: the last ``months``
    calendar months (UTC) up to and including the current one, oldest first."""
    now = timeutil.now()
    starts = [[month_start(now, back) for back in range(k.months - 1, -1, -1)] for k in keys]
    params = [{"i": i, "network": k.network, "since": timeutil.to_store(s[0]), "until": None}
              for i, (k, s) in enumerate(zip(keys, starts, strict=True))]
    counts: list[dict[str, tuple[int, int]]] = [{} for _ in keys]
    for row in await store.read(MONTHS, keys=params):
        counts[row["i"]][row["month"]] = (int(row["referrals"]), int(row["converted"]))
    out = []
    for s, found in zip(starts, counts, strict=True):
        labels = [m.strftime("%Y-%m") for m in s]
        out.append([Month(m, *found.get(m, (0, 0))) for m in labels])
    return out
