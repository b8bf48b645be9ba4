"""Partner recommendations and network partner gaps, from bounded queries and stored analytics.

Per request: the professional's own customers (capped) and the professionals they hired form the
bipartite neighbourhood for Adamic-Adar; professionals in complementary trades come from the
stored complementarity table; reputation is read from the nodes. Nothing here loads the whole
graph.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from graph import analytics
from graph.algorithms import partners as algorithms
from graph.algorithms import reciprocity as reciprocity_algorithms
from graph.compute import offload, stop_requested
from graph.errors import NotFound
from graph.ids import check_id
from graph.membership import MEMBER
from graph.reciprocity import MEMBER_REFERRALS
from graph.store import Row, Store

MAX_CUSTOMERS = 500  # the professional's most recent customers that feed Adamic-Adar
COMPLEMENT_CANDIDATES = 100

PROFILE = """
MATCH (p:Professional {id: $id})
RETURN p.id AS id, p.name AS name, p.trades AS trades, p.area AS area,
       coalesce(p.reputation, 0.0) AS reputation
"""
PROFILES = """
UNWIND $ids AS id
MATCH (p:Professional {id: id})
RETURN p.id AS id, p.name AS name, p.trades AS trades, p.area AS area,
       coalesce(p.reputation, 0.0) AS reputation
"""
GIVEN_TO = """
MATCH (:Professional {id: $id})-[:MADE]->(:Referral)-[:FOR]->(q:Professional)
RETURN DISTINCT q.id AS partner
"""
RECEIVED_FROM = """
MATCH (:Professional {id: $id})<-[:FOR]-(:Referral)<-[:MADE]-(q:Professional)
RETURN DISTINCT q.id AS partner
"""
# Hires here are confirmed jobs, on both sides of a shared customer.
CUSTOMER_NEIGHBOURHOOD = """
MATCH (p:Professional {id: $id})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true
WITH c, max(j.completedAt) AS last
ORDER BY last DESC
LIMIT $limit
MATCH (c)-[:BOOKED]->(k:Job)-[:DONE_BY]->(q:Professional)
WHERE k.confirmed = true
RETURN c.id AS customer, collect(DISTINCT q.id) AS professionals
"""
IN_TRADES = """
MATCH (q:Professional)
WHERE any(t IN q.trades WHERE t IN $trades)
RETURN q.id AS id
ORDER BY (q.area = $area) DESC, coalesce(q.reputation, 0.0) DESC, q.id
LIMIT $limit
"""
SHARED_CUSTOMERS = """
MATCH (p:Professional {id: $id})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true
WITH DISTINCT c
MATCH (c)-[:BOOKED]->(k:Job)-[:DONE_BY]->(q:Professional)
WHERE q.id IN $ids AND k.confirmed = true
RETURN q.id AS id, count(DISTINCT c) AS shared
"""

NETWORK_MEMBERS = f"""
MATCH (n:Network {{id: $id}})
OPTIONAL MATCH (n)<-[:{MEMBER}]-(m:Professional)
RETURN n.id AS network, collect({{id: m.id, trades: m.trades}}) AS members
"""
OUTSIDE_HIRES = f"""
MATCH (n:Network {{id: $id}})<-[:{MEMBER}]-(:Professional)
      <-[:DONE_BY]-(k:Job)<-[:BOOKED]-(c:Customer)
WHERE k.confirmed = true
WITH DISTINCT n, c
MATCH (c)-[:BOOKED]->(j:Job)-[:DONE_BY]->(o:Professional)
WHERE j.confirmed = true AND NOT EXISTS {{ (o)-[:{MEMBER}]->(n) }}
  AND ($since IS NULL OR j.completedAt >= $since) AND ($until IS NULL OR j.completedAt < $until)
RETURN DISTINCT j.trade AS trade, c.id AS customer, o.id AS professional
"""
# Non-members offering each missing trade, best reputation first (candidates nobody hired yet).
OFFERING = f"""
UNWIND $trades AS t
CALL (t) {{
  MATCH (q:Professional)
  WHERE t IN q.trades AND NOT EXISTS {{ (q)-[:{MEMBER}]->(:Network {{id: $id}}) }}
  WITH q ORDER BY coalesce(q.reputation, 0.0) DESC, q.id LIMIT $limit
  RETURN collect(q.id) AS ids
}}
RETURN t AS trade, ids
"""
MAX_CANDIDATES = 50

REPUTATIONS = """
UNWIND $ids AS id
MATCH (p:Professional {id: id})
RETURN p.id AS id, coalesce(p.reputation, 0.0) AS reputation
"""


@dataclass(frozen=True)
class Recommendation:
    partner_id: str
    score: float
    shared_customers: int
    reasons: list[str]


async def _profile(store: Store, professional_id: str) -> dict:
    rows = await store.read(PROFILE, id=professional_id)
    if not rows:
        raise NotFound(f"no professional {professional_id}", ["id"])
    return rows[0]


async def _partners(store: Store, professional_id: str) -> set[str]:
    given = await store.read(GIVEN_TO, id=professional_id)
    received = await store.read(RECEIVED_FROM, id=professional_id)
    return {r["partner"] for r in given + received}


async def _table(store: Store) -> tuple[dict[frozenset[str], float], dict[frozenset[str], float]]:
    rows = await store.read(analytics.TRADE_PAIRS)
    scores = {frozenset((r["a"], r["b"])): float(r["score"]) for r in rows}
    lifts = {frozenset((r["a"], r["b"])): float(r["lift"]) for r in rows}
    return scores, lifts


def _adamic_adar(neighbourhood: list[Row], professional_id: str,
                 candidates: list[str]) -> dict[str, float]:
    B = nx.Graph()
    for row in neighbourhood:
        B.add_edges_from((row["customer"], q) for q in row["professionals"])
    return algorithms.adamic_adar(B, professional_id, candidates, stop=stop_requested)


def _unconnected_pairs(members: dict[str, list[str]], linked: set[frozenset[str]],
                       table: dict[frozenset[str], float]) -> list[tuple[str, str, float]]:
    pairs = []
    ids = sorted(members)
    for i, a in enumerate(ids):
        if stop_requested():
            break  # nobody waits for the answer any more
        for b in ids[i + 1 :]:
            if frozenset((a, b)) in linked or set(members[a]) & set(members[b]):
                continue
            score, _, _ = algorithms.best_complement(members[a], members[b], table)
            if score > 0:
                pairs.append((a, b, score))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs


async def recommendations(
    store: Store, professional_id: str, limit: int, include_same_trade: bool = False
) -> list[Recommendation]:
    """Professionals worth partnering with: never itself, never a current partner (a referral
    either way), never one sharing a trade unless ``include_same_trade``; best score first."""
    check_id(professional_id, "Professional", ["id"])
    me = await _profile(store, professional_id)
    partners = await _partners(store, professional_id)
    table, lifts = await _table(store)
    complements = sorted({t for key in table for t in key if key & set(me["trades"])}
                         - set(me["trades"]))
    if include_same_trade:
        complements = sorted(set(complements) | set(me["trades"]))
    neighbourhood = await store.read(CUSTOMER_NEIGHBOURHOOD, id=professional_id,
                                     limit=MAX_CUSTOMERS)
    candidates = {q for row in neighbourhood for q in row["professionals"]}
    if complements:
        candidates |= {r["id"] for r in await store.read(
            IN_TRADES, trades=complements, area=me["area"], limit=COMPLEMENT_CANDIDATES)}
    candidates -= partners | {professional_id}
    profiles = {r["id"]: r for r in await store.read(PROFILES, ids=sorted(candidates))}
    aa = await offload(_adamic_adar, neighbourhood, professional_id, sorted(candidates))
    scored = []
    for q, profile in profiles.items():
        if not include_same_trade and set(profile["trades"]) & set(me["trades"]):
            continue
        complement, mine, theirs = algorithms.best_complement(me["trades"], profile["trades"],
                                                              table)
        same_area = me["area"] is not None and profile["area"] == me["area"]
        score = algorithms.partner_score(complement, aa.get(q, 0.0), profile["reputation"],
                                         same_area)
        scored.append((score, q, complement, mine, theirs, same_area))
    scored.sort(key=lambda s: (-s[0], s[1]))
    top = scored[:limit]
    shared = {r["id"]: r["shared"] for r in await store.read(
        SHARED_CUSTOMERS, id=professional_id, ids=[s[1] for s in top])} if top else {}
    out = []
    for score, q, complement, mine, theirs, same_area in top:
        profile = profiles[q]
        reasons: list[tuple[float, str]] = []
        n = shared.get(q, 0)
        if n:
            reasons.append((algorithms.WEIGHTS["customers"] * algorithms.squash(aa.get(q, 0.0)),
                            f"{n} of your customers also hired {profile['name']}"))
        if complement > 0 and mine and theirs:
            lift = lifts.get(frozenset((mine, theirs)), 1.0)
            together = (f": customers hire both {lift:.1f} times as often as chance"
                        if lift > 1 else "")
            reasons.append((algorithms.WEIGHTS["complementarity"] * complement,
                            f"{theirs.capitalize()} complements your {mine}{together}"))
        if profile["reputation"] > 0:
            reasons.append((algorithms.WEIGHTS["reputation"] * profile["reputation"],
                            f"Reputation {profile['reputation']:.2f} of 1 in the referral "
                            "network"))
        if same_area:
            reasons.append((algorithms.WEIGHTS["area"], f"Works in your area ({me['area']})"))
        out.append(Recommendation(q, score, n, [text for _, text in
                                                sorted(reasons, key=lambda r: -r[0])]))
    return out


@dataclass
class TradeGap:
    trade: str
    demand: int
    candidate_ids: list[str] = field(default_factory=list)
    fit: float = 0.0  # in [0, 1]: how well the trade complements the members' trades
    score: float = 0.0  # demand weighted by fit: the order of the missing trades


@dataclass
class NetworkGaps:
    missing_trades: list[TradeGap]
    unconnected_pairs: list[tuple[str, str, float]]
    passive_members: list[str]
    top_referrer_share: float


async def gaps(
    store: Store, network_id: str, since: str | None, until: str | None
) -> NetworkGaps:
    """Trades the members' customers hire from outside, complementary members who never
    referred each other, members who gave no referral, and how concentrated referring is."""
    check_id(network_id, "Network", ["id"])
    rows = await store.read(NETWORK_MEMBERS, id=network_id)
    if not rows:
        raise NotFound(f"no network {network_id}", ["id"])
    members = {m["id"]: m["trades"] for m in rows[0]["members"] if m["id"] is not None}
    offered = {t for trades in members.values() for t in trades}

    demand: dict[str, set[str]] = defaultdict(set)
    served: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in await store.read(OUTSIDE_HIRES, id=network_id, since=since, until=until):
        if r["trade"] not in offered:
            demand[r["trade"]].add(r["customer"])
            served[r["trade"], r["professional"]].add(r["customer"])
    outsiders = sorted({p for _, p in served})
    reputation = {r["id"]: r["reputation"] for r in await store.read(REPUTATIONS, ids=outsiders)}
    offering = {r["trade"]: r["ids"] for r in await store.read(
        OFFERING, id=network_id, trades=sorted(demand), limit=MAX_CANDIDATES)} if demand else {}
    table, _ = await _table(store)
    missing = []
    for trade, customers in demand.items():
        # First those the members' customers already hired (most of them first), then the
        # other non-members offering the trade, by reputation.
        ranked = sorted((p for t, p in served if t == trade),
                        key=lambda p: (-len(served[trade, p]), -reputation.get(p, 0.0), p))
        ranked += [p for p in offering.get(trade, []) if p not in ranked]
        fit = algorithms.gap_fit(members, trade, table)
        missing.append(TradeGap(trade, len(customers), ranked[:MAX_CANDIDATES], fit,
                                len(customers) * fit))
    # A trade that fits nobody still shows, after those that do, by demand.
    missing.sort(key=lambda g: (-g.score, -g.demand, g.trade))

    window_edges = await store.read(MEMBER_REFERRALS, id=network_id, since=since, until=until)
    G = reciprocity_algorithms.member_graph(members, [(e["a"], e["b"], e["n"])
                                                     for e in window_edges])
    given = {m: G.out_degree(m, weight="count") for m in members}
    passive = sorted(m for m, n in given.items() if n == 0)

    ever = await store.read(MEMBER_REFERRALS, id=network_id, since=None, until=None)
    linked = {frozenset((e["a"], e["b"])) for e in ever}
    pairs = await offload(_unconnected_pairs, members, linked, table)
    return NetworkGaps(missing, pairs, passive, algorithms.top_share(given))
