"""Measurement: referral funnels, grouped statistics, and a network's give-and-take.

Every figure is counted by the store from one anchor outwards: a professional's received
referrals, the referrals between a network's active members, or (for admins' statistics) all
referrals, aggregated in Cypher so that only one row per group comes back. Windows are
[since, until) on the referral's createdAt; a referral confirmed as fraud (``r.fraud = true``)
counts nowhere.

A funnel counts referrals by where they went: ``accepted`` counts those whose history holds
ACCEPTED (so also those that went on to CONVERTED or DECLINED after it), ``open`` those still
SENT or ACCEPTED. The median days to convert is exact: the store's ``percentileCont`` at 0.5
interpolates linearly, which for an even count is the mean of the two middle values, over the
days from the first entry of ``statusTimes`` (SENT) to the last (CONVERTED, which is final).

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


# Each dimension's value for a referral r made by a and naming p; the Cypher of a statistic is
# put together from these fixed fragments only, never from input.
DIMENSIONS: dict[Dimension, str] = {
    Dimension.MONTH: "substring(r.createdAt, 0, 7)",
    Dimension.TRADE: "coalesce(head(p.trades), '')",
    Dimension.AREA: "coalesce(p.area, '')",
    Dimension.STATUS: "r.status",
    Dimension.CHANNEL: "coalesce(r.channel, 'DIRECT')",
    Dimension.REFERRER_KIND: "CASE WHEN a:Customer THEN 'CUSTOMER' ELSE 'PROFESSIONAL' END",
}

_WINDOW = """r.fraud IS NULL AND (k.since IS NULL OR r.createdAt >= k.since)
  AND (k.until IS NULL OR r.createdAt < k.until)"""
# A self-referral is refused when made; a network's figures leave out any older one, as its
# leaderboard does, since it is no referral between two members.
_MATCHES: dict[Scope, str] = {
    Scope.ALL: f"""
UNWIND $keys AS k
MATCH (a)-[:MADE]->(r:Referral)-[:FOR]->(p:Professional)
WHERE {_WINDOW}""",
    Scope.PROFESSIONAL: f"""
UNWIND $keys AS k
MATCH (p:Professional {{id: k.professional}})<-[:FOR]-(r:Referral)<-[:MADE]-(a)
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
# The job is read for converted referrals only; the days to convert run from the first status
# time (SENT) to the last (CONVERTED is final), in seconds with their fraction.
_FUNNEL = """
OPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)
WITH k, r, {dimensions}
     CASE WHEN r.status = 'CONVERTED' THEN coalesce(j.value, 0.0) ELSE 0.0 END AS value,
     CASE WHEN r.status = 'CONVERTED' THEN duration.inSeconds(datetime(head(r.statusTimes)),
          datetime(last(r.statusTimes))) END AS took
RETURN k.i AS i, {keys}count(r) AS referrals,
       sum(CASE WHEN 'ACCEPTED' IN r.statusHistory THEN 1 ELSE 0 END) AS accepted,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted,
       sum(CASE WHEN r.status = 'DECLINED' THEN 1 ELSE 0 END) AS declined,
       sum(CASE WHEN r.status = 'EXPIRED' THEN 1 ELSE 0 END) AS expired,
       sum(CASE WHEN r.status IN ['SENT', 'ACCEPTED'] THEN 1 ELSE 0 END) AS open,
       percentileCont((took.seconds + took.nanosecondsOfSecond / 1000000000.0) / 86400.0, 0.5)
         AS medianDays,
       sum(value) AS value
"""

# Ordered pairs of a network's active members, and month by month counts between them.
_MEMBER_REFERRALS = f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.network}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(b:Professional)-[:{MEMBER}]->(n)
WHERE a.id <> b.id AND {_WINDOW}"""
MATRIX = _MEMBER_REFERRALS + """
OPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)
RETURN k.i AS i, a.id AS giver, b.id AS receiver, count(r) AS referrals,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted,
       sum(CASE WHEN r.status = 'CONVERTED' THEN coalesce(j.value, 0.0) ELSE 0.0 END) AS value
"""
MONTHS = _MEMBER_REFERRALS + """
RETURN k.i AS i, substring(r.createdAt, 0, 7) AS month, count(r) AS referrals,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted
"""


@cache
def funnel_query(scope: Scope, dimensions: tuple[Dimension, ...] = ()) -> str:
    """The statement counting funnels of ``scope``, one row per key and group of
    ``dimensions`` (returned as ``d0``, ``d1``, ... in their order)."""
    names = [f"d{n}" for n in range(len(dimensions))]
    return _MATCHES[scope] + _FUNNEL.format(
        dimensions="".join(f"{DIMENSIONS[d]} AS {name}, "
                           for d, name in zip(dimensions, names, strict=True)),
        keys="".join(f"{name}, " for name in names))


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
        median = row["medianDays"]
        return cls(
            referrals=int(row["referrals"]), accepted=int(row["accepted"]),
            converted=int(row["converted"]), declined=int(row["declined"]),
            expired=int(row["expired"]), open=int(row["open"]),
            median_days_to_convert=None if median is None else float(median),
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


def median(values: Sequence[float]) -> float | None:
    """The exact median, as the store computes it (for checks and tests)."""
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


async def stats(store: Store, key: FunnelKey, dimensions: Sequence[Dimension]) -> list[StatsRow]:
    """Funnels of the referrals of ``key`` grouped by ``dimensions``, rows sorted by key; no
    dimensions make one row with an empty key (zero counts when nothing matches)."""
    check_group_by(dimensions)
    dims = tuple(dimensions)
    rows = await store.read(funnel_query(key.scope, dims), keys=[key.param(0)])
    found = [StatsRow(tuple(str(row[f"d{n}"]) for n in range(len(dims))), Funnel.from_row(row))
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
