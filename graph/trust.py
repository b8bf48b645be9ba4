"""Trust paths and who-referred-whom chains: bounded expansions in Cypher, algorithms in
``graph.algorithms.trust``.

Per request the service reads only the neighbourhood of the asking party: a breadth-first
expansion along outgoing trust relations, one level per hop up to ``maxHops``, a few queries per
level. Out-degrees are small (a customer's jobs and referrals, a professional's referrals), so the
neighbourhood stays small; a level that would exceed ``MAX_FRONTIER`` parties is cut to the most
recently active ones, which keeps the work bounded on any graph.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import networkx as nx

from graph import rules, timeutil
from graph.algorithms import trust as algorithms
from graph.compute import offload, stop_requested
from graph.errors import NotFound, ValidationError
from graph.ids import kind_of
from graph.models import Professional, Referral
from graph.professionals import professionals_by_ids
from graph.projection import TrustEdge, trust_graph
from graph.store import Row, Store

MAX_FRONTIER = 2000
# Reached professionals are read this many (or twice the limit) at a time, best first.
PROFESSIONALS_PAGE = 50

_EDGE = "relation, target, via, at, rating, status, verified"

# Outgoing trust relations of a level's customers and professionals. Erased customers take no
# part: nothing starts at, passes through or ends at a tombstone. Only confirmed jobs are hops;
# a referral confirmed as fraud is none (graph.review).
# A non-null $goal keeps only the relations that end at it: on the last level of a search for
# paths to one party, no other relation can be part of an answer.
CUSTOMERS_HIRED = """
UNWIND $ids AS id
MATCH (c:Customer {id: id})-[:BOOKED]->(j:Job)-[:DONE_BY]->(p:Professional)
WHERE c.erased IS NULL AND j.confirmed = true AND ($goal IS NULL OR p.id = $goal)
RETURN c.id AS source, 'HIRED' AS relation, p.id AS target, j.id AS via, j.completedAt AS at,
       j.rating AS rating, null AS status, false AS verified
"""
CUSTOMERS_REFERRED = """
UNWIND $ids AS id
MATCH (c:Customer {id: id})-[:MADE]->(r:Referral)-[:FOR]->(p:Professional)
WHERE c.erased IS NULL AND r.fraud IS NULL AND ($goal IS NULL OR p.id = $goal)
RETURN c.id AS source, 'REFERRED' AS relation, p.id AS target, r.id AS via, r.createdAt AS at,
       null AS rating, r.status AS status, r.verified AS verified
"""
CUSTOMERS_REFERRED_BY = """
UNWIND $ids AS id
MATCH (c:Customer {id: id})<-[:INTRODUCES]-(r:Referral)<-[:MADE]-(a)
WHERE c.erased IS NULL AND a.erased IS NULL AND r.fraud IS NULL
  AND ($goal IS NULL OR a.id = $goal)
RETURN c.id AS source, 'REFERRED_BY' AS relation, a.id AS target, r.id AS via,
       r.createdAt AS at, null AS rating, r.status AS status, r.verified AS verified
"""
PROFESSIONALS_REFERRED = """
UNWIND $ids AS id
MATCH (a:Professional {id: id})-[:MADE]->(r:Referral)-[:FOR]->(p:Professional)
WHERE r.fraud IS NULL AND ($goal IS NULL OR p.id = $goal)
RETURN a.id AS source, 'REFERRED' AS relation, p.id AS target, r.id AS via, r.createdAt AS at,
       null AS rating, r.status AS status, r.verified AS verified
"""

PARTY_EXISTS = {
    "Customer": "MATCH (c:Customer {id: $id}) RETURN c.erased IS NULL AS live",
    "Professional": "MATCH (p:Professional {id: $id}) RETURN true AS live",
}

# The referrals in which `referee` was introduced to `professional` before `before`, for many
# chains at once: every candidate per key (a referee meets a professional through few
# referrals); the nearest, most recent one is picked in Python.
UPSTREAM_REFERRALS = """
UNWIND $keys AS k
MATCH (:Customer {id: k.referee})<-[:INTRODUCES]-(r:Referral)-[:FOR]->(:Professional {id: k.pro})
WHERE r.createdAt < k.before
RETURN k.i AS i, r.id AS id, r.createdAt AS createdAt, head([(r)<-[:MADE]-(a) | a.id]) AS referrer
"""
MAX_CHAIN = 50


@dataclass(frozen=True)
class ChainKey:
    """What the chain of a referral depends on: its referrer, professional and creation."""

    referrer_id: str
    professional_id: str
    created_at: str  # store text

    @classmethod
    def of(cls, referral: Referral) -> ChainKey:
        return cls(referral.referrer_id, referral.professional_id,
                   timeutil.to_store(referral.created_at))


@dataclass(frozen=True)
class Hop:
    source: str
    target: str
    relation: str
    trust: float
    at: str
    job_id: str | None
    referral_id: str | None


@dataclass(frozen=True)
class Path:
    trust: float
    hops: list[Hop]

    @property
    def end(self) -> str:
        return self.hops[-1].target


def _edge(row: Row) -> TrustEdge:
    return TrustEdge(
        source=row["source"], target=row["target"], relation=row["relation"], via=row["via"],
        at=row["at"], rating=row["rating"], status=row["status"],
        verified=bool(row["verified"]),
    )


async def _level(store: Store, frontier: Sequence[str], goal: str | None = None
                 ) -> list[TrustEdge]:
    customers = [i for i in frontier if kind_of(i) == "Customer"]
    professionals = [i for i in frontier if kind_of(i) == "Professional"]
    queries = []
    if customers:
        queries += [store.read(q, ids=customers, goal=goal)
                    for q in (CUSTOMERS_HIRED, CUSTOMERS_REFERRED, CUSTOMERS_REFERRED_BY)]
    if professionals:
        queries.append(store.read(PROFESSIONALS_REFERRED, ids=professionals, goal=goal))
    results = await asyncio.gather(*queries)
    return [_edge(row) for rows in results for row in rows]


async def neighbourhood(store: Store, source: str, max_hops: int,
                        goal: str | None = None) -> list[TrustEdge]:
    """Every trust relation on a walk of at most ``max_hops`` hops from ``source``; with a
    ``goal``, the last hop reads only the relations that end at it."""
    edges: list[TrustEdge] = []
    seen = {source}
    frontier = [source]
    for hop in range(max_hops):
        if not frontier:
            break
        found = await _level(store, frontier, goal if hop == max_hops - 1 else None)
        edges += found
        fresh: dict[str, str] = {}
        for e in found:
            if e.target not in seen:
                fresh[e.target] = max(fresh.get(e.target, ""), e.at)
        seen.update(fresh)
        # Bound the work: past MAX_FRONTIER parties, keep the most recently active.
        frontier = sorted(fresh, key=lambda p: (fresh[p], p), reverse=True)[:MAX_FRONTIER]
    return edges


async def _require_party(store: Store, party_id: str, field: str) -> None:
    label = kind_of(party_id)
    if label not in PARTY_EXISTS:
        raise ValidationError(f"{party_id!r} is neither a customer nor a professional id",
                              [field])
    rows = await store.read(PARTY_EXISTS[label], id=party_id)
    if not rows or not rows[0]["live"]:
        # Fixed words: an unknown and an erased customer give byte-identical errors.
        raise NotFound(f"no {label.lower()} with this id", [field])


def _path(G: nx.DiGraph, trust_value: float, nodes: Sequence[Hashable]) -> Path:
    hops = []
    for u, v in pairwise(nodes):
        data = G[u][v]
        e: TrustEdge = data["edge"]
        hops.append(Hop(
            source=str(u), target=str(v), relation=e.relation, trust=data["trust"], at=e.at,
            job_id=e.via if e.relation == "HIRED" else None,
            referral_id=None if e.relation == "HIRED" else e.via,
        ))
    return Path(trust=trust_value, hops=hops)


async def trust_paths(
    store: Store, source: str, target: str, limit: int, max_hops: int
) -> list[Path]:
    """The ``limit`` most trusted simple paths from ``source`` to ``target``."""
    await asyncio.gather(_require_party(store, source, "from"),
                         _require_party(store, target, "to"))
    edges = await neighbourhood(store, source, max_hops, goal=target)

    def solve() -> list[Path]:
        G = trust_graph(edges, timeutil.now())
        found = algorithms.most_trusted_paths(G, source, target, limit, max_hops,
                                              stop=stop_requested)
        return [_path(G, t, nodes) for t, nodes in found]

    return await offload(solve)


def own_hires(edges: Sequence[TrustEdge], customer_id: str, now: datetime) -> dict[str, Path]:
    """Per professional, the customer's own latest confirmed hire of it as a one-hop path
    (latest by completion, then by job id), whatever stronger path there is."""
    latest: dict[str, TrustEdge] = {}
    for e in edges:
        if e.source == customer_id and e.relation == "HIRED":
            held = latest.get(e.target)
            if held is None or (e.at, e.via) > (held.at, held.via):
                latest[e.target] = e
    return {p: Path(trust=e.trust(now), hops=[Hop(
        source=e.source, target=e.target, relation=e.relation, trust=e.trust(now), at=e.at,
        job_id=e.via, referral_id=None)]) for p, e in latest.items()}


async def trusted_professionals(
    store: Store, customer_id: str, max_hops: int, limit: int, trade: str | None = None
) -> list[tuple[Professional, Path, Path | None]]:
    """The professionals the customer reaches, each with its best path and the customer's own
    latest hire of it (None when there is none), most trusted first (equal trust, to
    ``TIE_DIGITS`` decimals, by id); only those offering ``trade`` when given."""
    wanted = None if trade is None else rules.clean_trade(trade, ["trade"])
    await _require_party(store, customer_id, "id")
    edges = await neighbourhood(store, customer_id, max_hops)

    now = timeutil.now()

    def solve() -> tuple[nx.DiGraph, dict]:
        G = trust_graph(edges, now)
        return G, algorithms.best_paths_from(G, customer_id, max_hops, stop=stop_requested)

    G, best = await offload(solve)
    own = own_hires(edges, customer_id, now)
    ranked = sorted(
        ((t, str(v), nodes) for v, (t, nodes) in best.items()
         if kind_of(str(v)) == "Professional"),
        key=lambda item: (-round(item[0], algorithms.TIE_DIGITS), item[1]),
    )
    # Read the reached professionals in rank order, a few more than ``limit`` at a time, so
    # that a large neighbourhood costs one short read, not thousands of rows; a trade filter
    # that leaves the page short reads the next one.
    out: list[tuple[Professional, Path, Path | None]] = []
    step = max(limit * 2, PROFESSIONALS_PAGE)
    for start in range(0, len(ranked), step):
        chunk = ranked[start : start + step]
        found = await professionals_by_ids(store, [v for _, v, _ in chunk])
        for (t, _, nodes), pro in zip(chunk, found, strict=True):
            if pro is not None and (wanted is None or wanted in pro.trades):
                out.append((pro, _path(G, t, nodes), own.get(pro.id)))
                if len(out) == limit:
                    return out
    return out


async def chains(store: Store, keys: Sequence[ChainKey]) -> list[list[str]]:
    """The chains of many referrals, in key order: per referral, the ids of the referrals that
    brought its referrer to the same professional, nearest first (the one in which the referrer
    was the referee, then the one before it, and so on). One round trip per step up the longest
    chain, whatever the number of keys."""
    out: list[list[str]] = [[] for _ in keys]
    seen = [{k.referrer_id} for k in keys]
    # Per key still climbing: (referee, before).
    pending = {i: (k.referrer_id, k.created_at) for i, k in enumerate(keys)}
    for _ in range(MAX_CHAIN):
        # A professional is never a referee: its chain ends here.
        pending = {i: p for i, p in pending.items() if kind_of(p[0]) == "Customer"}
        if not pending:
            break
        params = [{"i": i, "referee": referee, "pro": keys[i].professional_id, "before": before}
                  for i, (referee, before) in pending.items()]
        nearest: dict[int, Row] = {}
        for row in await store.read(UPSTREAM_REFERRALS, keys=params):
            best = nearest.get(row["i"])
            if best is None or (row["createdAt"], row["id"]) > (best["createdAt"], best["id"]):
                nearest[row["i"]] = row
        climbing: dict[int, tuple[str, str]] = {}
        for i, row in nearest.items():
            if row["referrer"] in seen[i]:
                continue
            out[i].append(row["id"])
            seen[i].add(row["referrer"])
            climbing[i] = (row["referrer"], row["createdAt"])
        pending = climbing
    return out
