"""Reciprocity balances: counting in Cypher, graph measures in ``graph.algorithms.reciprocity``.

Only referrals from one professional naming another count. Windows are [since, until) on the
referral's createdAt. A network's balances count referrals between its current members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx

from graph import timeutil
from graph.algorithms import reciprocity as algorithms
from graph.algorithms.reciprocity import Balance
from graph.compute import offload, stop_requested
from graph.errors import NotFound
from graph.membership import MEMBER
from graph.store import Store

# A referral confirmed as fraud counts nowhere (graph.review): every count here filters it.
_WINDOW = """r.fraud IS NULL AND (k.since IS NULL OR r.createdAt >= k.since)
  AND (k.until IS NULL OR r.createdAt < k.until)"""

# Per professional and counterpart: referrals given and received, converted, and job value.
GIVEN = f"""
UNWIND $keys AS k
MATCH (me:Professional {{id: k.id}})-[:MADE]->(r:Referral)-[:FOR]->(p:Professional)
WHERE {_WINDOW}
OPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)
RETURN k.i AS i, p.id AS partner, count(r) AS n,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted,
       sum(coalesce(j.value, 0.0)) AS value
"""
RECEIVED = f"""
UNWIND $keys AS k
MATCH (me:Professional {{id: k.id}})<-[:FOR]-(r:Referral)<-[:MADE]-(p:Professional)
WHERE {_WINDOW}
OPTIONAL MATCH (r)-[:CONVERTED_TO]->(j:Job)
RETURN k.i AS i, p.id AS partner, count(r) AS n,
       sum(CASE WHEN r.status = 'CONVERTED' THEN 1 ELSE 0 END) AS converted,
       sum(coalesce(j.value, 0.0)) AS value
"""

# Per key and calendar month (the first seven characters of the store's UTC text: YYYY-MM).
MONTHS_GIVEN = """
UNWIND $keys AS k
MATCH (me:Professional {id: k.id})-[:MADE]->(r:Referral)-[:FOR]->(:Professional)
WHERE r.createdAt >= k.since AND r.fraud IS NULL
RETURN k.i AS i, substring(r.createdAt, 0, 7) AS month, count(r) AS n
"""
MONTHS_RECEIVED = """
UNWIND $keys AS k
MATCH (me:Professional {id: k.id})<-[:FOR]-(r:Referral)<-[:MADE]-(:Professional)
WHERE r.createdAt >= k.since AND r.fraud IS NULL
RETURN k.i AS i, substring(r.createdAt, 0, 7) AS month, count(r) AS n
"""

# The members of many networks, and the referrals between them in each key's window.
NETWORKS_MEMBERS = f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.id}})
OPTIONAL MATCH (n)<-[:{MEMBER}]-(p:Professional)
RETURN k.i AS i, collect(p.id) AS members
"""
NETWORKS_MEMBER_REFERRALS = f"""
UNWIND $keys AS k
MATCH (n:Network {{id: k.id}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(b:Professional)-[:{MEMBER}]->(n)
WHERE {_WINDOW}
RETURN k.i AS i, a.id AS a, b.id AS b, count(r) AS n
"""
MEMBER_REFERRALS = f"""
MATCH (n:Network {{id: $id}})<-[:{MEMBER}]-(a:Professional)-[:MADE]->(r:Referral)
      -[:FOR]->(b:Professional)-[:{MEMBER}]->(n)
WHERE r.fraud IS NULL
  AND ($since IS NULL OR r.createdAt >= $since) AND ($until IS NULL OR r.createdAt < $until)
RETURN a.id AS a, b.id AS b, count(r) AS n
"""


@dataclass(frozen=True)
class MemberGraphKey:
    network_id: str
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class TrendKey:
    professional_id: str
    months: int


@dataclass(frozen=True)
class BalanceKey:
    professional_id: str
    since: str | None = None
    until: str | None = None


@dataclass
class ProfessionalBalance:
    given: int = 0
    received: int = 0
    converted_given: int = 0
    converted_received: int = 0
    value_given: float = 0.0
    value_received: float = 0.0
    partners: list[Balance] = field(default_factory=list)  # member = the counterpart's id

    @property
    def balance(self) -> int:
        return self.given - self.received


@dataclass(frozen=True)
class NetworkReciprocity:
    referrals: int
    coefficient: float
    graph: nx.DiGraph  # the member graph, for givers and takers

    def givers_and_takers(
        self, limit: int
    ) -> tuple[list[algorithms.Balance], list[algorithms.Balance]]:
        return algorithms.givers_and_takers(self.graph, limit)


async def professional_balances(
    store: Store, keys: Sequence[BalanceKey]
) -> list[ProfessionalBalance]:
    """Balances for many (professional, window) keys in two round trips, in key order."""
    params = [{"i": i, "id": k.professional_id, "since": k.since, "until": k.until}
              for i, k in enumerate(keys)]
    given = await store.read(GIVEN, keys=params)
    received = await store.read(RECEIVED, keys=params)
    out = [ProfessionalBalance() for _ in keys]
    pairs: list[dict[str, list[int]]] = [{} for _ in keys]
    for rows, side in ((given, 0), (received, 1)):
        for row in rows:
            b = out[row["i"]]
            if side == 0:
                b.given += row["n"]
                b.converted_given += row["converted"]
                b.value_given += float(row["value"])
            else:
                b.received += row["n"]
                b.converted_received += row["converted"]
                b.value_received += float(row["value"])
            pairs[row["i"]].setdefault(row["partner"], [0, 0])[side] += row["n"]
    for b, counts in zip(out, pairs, strict=True):
        b.partners = sorted(
            (Balance(p, g, r) for p, (g, r) in counts.items()),
            key=lambda p: (-abs(p.balance), str(p.member)),
        )
    return out


def month_start(value: datetime, back: int) -> datetime:
    index = value.year * 12 + value.month - 1 - back
    return value.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0,
                         second=0, microsecond=0)


async def trends(store: Store, keys: Sequence[TrendKey]) -> list[list[Balance]]:
    """Trends for many (professional, months) keys in two round trips, in key order: the last
    ``months`` calendar months (UTC) up to and including the current one, each balance's member
    its month, YYYY-MM; months lie in 1..``graph.rules.MAX_MONTHS`` (the API's argument rules,
    ``graph.rules.ARGUMENT_RULES``)."""
    now = timeutil.now()
    starts = [[month_start(now, back) for back in range(k.months - 1, -1, -1)] for k in keys]
    params = [{"i": i, "id": k.professional_id, "since": timeutil.to_store(s[0])}
              for i, (k, s) in enumerate(zip(keys, starts, strict=True))]
    given: list[dict[str, int]] = [{} for _ in keys]
    received: list[dict[str, int]] = [{} for _ in keys]
    for query, counts in ((MONTHS_GIVEN, given), (MONTHS_RECEIVED, received)):
        for row in await store.read(query, keys=params):
            counts[row["i"]][row["month"]] = row["n"]
    out = []
    for s, g, r in zip(starts, given, received, strict=True):
        labels = [m.strftime("%Y-%m") for m in s]
        out.append([Balance(m, g.get(m, 0), r.get(m, 0)) for m in labels])
    return out


async def member_graphs(
    store: Store, keys: Sequence[MemberGraphKey]
) -> list[nx.DiGraph | NotFound]:
    """The member graphs of many (network, window) keys in two round trips, in key order; a
    network that does not exist gets its NotFound error in its place."""
    params = [{"i": i, "id": k.network_id, "since": k.since, "until": k.until}
              for i, k in enumerate(keys)]
    members = {r["i"]: r["members"] for r in await store.read(NETWORKS_MEMBERS, keys=params)}
    edges: dict[int, list[tuple[str, str, int]]] = {}
    for e in await store.read(NETWORKS_MEMBER_REFERRALS, keys=params):
        edges.setdefault(e["i"], []).append((e["a"], e["b"], e["n"]))
    return [algorithms.member_graph(members[i], edges.get(i, [])) if i in members
            else NotFound(f"no network {k.network_id}", ["id"]) for i, k in enumerate(keys)]


async def reciprocity_of(G: nx.DiGraph) -> NetworkReciprocity:
    """The reciprocity of a member graph (from :func:`member_graphs`)."""
    total = sum(c for _, _, c in G.edges(data="count"))
    return NetworkReciprocity(total, await offload(algorithms.reciprocity_coefficient, G), G)


async def imbalanced_pairs_of(G: nx.DiGraph, min_gap: int) -> list[algorithms.PairGap]:
    """Member pairs whose traffic differs by at least ``min_gap`` (1 or more: the API's
    argument rules), largest gap first."""
    return await offload(algorithms.imbalanced_pairs, G, min_gap, stop=stop_requested)

