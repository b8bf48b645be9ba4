"""Partner recommendations and network partner gaps, from bounded queries and stored analytics.

Per request: the professional's own customers (capped) and the professionals they hired form the
bipartite neighbourhood for Adamic-Adar; professionals in complementary trades come from the
per-trade candidate lists the analytics refresh stores, read best first only while one still
unread could enter the answer; complementarity and reputation are read as stored. Nothing here
loads the whole graph or sorts every professional of a trade.
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
# Candidate lists whose next pages are read in one round trip, the most promising first.
STREAMS_PER_READ = 4

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
# A referral confirmed as fraud makes no partnership (graph.review).
GIVEN_TO = """
MATCH (:Professional {id: $id})-[:MADE]->(r:Referral)-[:FOR]->(q:Professional)
WHERE r.fraud IS NULL
RETURN DISTINCT q.id AS partner
"""
RECEIVED_FROM = """
MATCH (:Professional {id: $id})<-[:FOR]-(r:Referral)<-[:MADE]-(q:Professional)
WHERE r.fraud IS NULL
RETURN DISTINCT q.id AS partner
"""
# Hires here are confirmed jobs, on both sides of a shared customer, and never the job of a
# referral confirmed as fraud (co-hiring leaves it out).
CUSTOMER_NEIGHBOURHOOD = f"""
MATCH (p:Professional {{id: $id}})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true AND {analytics.not_fraud_job("j")}
WITH c, max(j.completedAt) AS last
ORDER BY last DESC
LIMIT $limit
MATCH (c)-[:BOOKED]->(k:Job)-[:DONE_BY]->(q:Professional)
WHERE k.confirmed = true AND {analytics.not_fraud_job("k")}
RETURN c.id AS customer, collect(DISTINCT q.id) AS professionals
"""
# Stored pages of the professionals offering a trade (in an area, or in any), best reputation
# first, written by the analytics refresh (graph.analytics.TradeCandidatesJob).
TRADE_CANDIDATES = """
UNWIND $keys AS k
MATCH (t:TradeCandidates {key: k})
RETURN t.key AS key, t.ids AS ids, t.reputations AS reputations, t.more AS more
"""
SHARED_CUSTOMERS = f"""
MATCH (p:Professional {{id: $id}})<-[:DONE_BY]-(j:Job)<-[:BOOKED]-(c:Customer)
WHERE j.confirmed = true AND {analytics.not_fraud_job("j")}
WITH DISTINCT c
MATCH (c)-[:BOOKED]->(k:Job)-[:DONE_BY]->(q:Professional)
WHERE q.id IN $ids AND k.confirmed = true AND {analytics.not_fraud_job("k")}
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
WHERE k.confirmed = true AND {analytics.not_fraud_job("k")}
WITH DISTINCT n, c
MATCH (c)-[:BOOKED]->(j:Job)-[:DONE_BY]->(o:Professional)
WHERE j.confirmed = true AND {analytics.NOT_FRAUD_JOB} AND NOT EXISTS {{ (o)-[:{MEMBER}]->(n) }}
  AND ($since IS NULL OR j.completedAt >= $since) AND ($until IS NULL OR j.completedAt < $until)
RETURN DISTINCT j.trade AS trade, c.id AS customer, o.id AS professional
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


@dataclass(frozen=True)
class Table:
    """The stored complementarity of trade pairs: scores, raw lifts and support."""

    scores: dict[frozenset[str], float]
    lifts: dict[frozenset[str], float]
    customers: dict[frozenset[str], int]


async def _table(store: Store) -> Table:
    rows = await store.read(analytics.TRADE_PAIRS)
    keys = [frozenset((r["a"], r["b"])) for r in rows]
    return Table({k: float(r["score"]) for k, r in zip(keys, rows, strict=True)},
                 {k: float(r["lift"]) for k, r in zip(keys, rows, strict=True)},
                 {k: int(r["customers"] or 0) for k, r in zip(keys, rows, strict=True)})


async def _stream_pages(store: Store, wanted: list[tuple[algorithms.Stream, int]]
                        ) -> dict[algorithms.Stream, tuple[list[str], list[float], bool]]:
    """Stored candidate pages: per stream, its page's ids, reputations and whether more
    follow; a stream with no stored page (nobody offers the trade there) comes back empty."""
    keys = {analytics.candidates_key(t, area, page): (t, area) for (t, area), page in wanted}
    found = {r["key"]: r for r in await store.read(TRADE_CANDIDATES, keys=sorted(keys))}
    out: dict[algorithms.Stream, tuple[list[str], list[float], bool]] = {}
    for key, stream in keys.items():
        row = found.get(key)
        out[stream] = ((list(row["ids"]), [float(x) for x in row["reputations"]],
                        bool(row["more"])) if row else ([], [], False))
    return out


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
    either way), never one sharing a trade unless ``include_same_trade``; best score first.

    Candidates are the professionals hired by the professional's recent customers and those
    offering a complementary trade (and its own trades with ``include_same_trade``). The latter
    are read from the stored per-trade lists best reputation first, in the professional's area
    and in any, and only while an unread one could still enter the top ``limit``
    (:class:`graph.algorithms.partners.CandidateSearch`): none who would is left out."""
    check_id(professional_id, "Professional", ["id"])
    me = await _profile(store, professional_id)
    mine = set(me["trades"])
    excluded = await _partners(store, professional_id) | {professional_id}
    table = await _table(store)
    neighbourhood = await store.read(CUSTOMER_NEIGHBOURHOOD, id=professional_id,
                                     limit=MAX_CUSTOMERS)
    near = sorted({q for row in neighbourhood for q in row["professionals"]} - excluded)
    aa = await offload(_adamic_adar, neighbourhood, professional_id, near)
    complements = algorithms.complement_by_trade(mine, table.scores, include_same_trade)
    areas = [None] if me["area"] is None else [me["area"], None]
    search = algorithms.CandidateSearch(
        {(t, area): (c, area is not None) for t, c in complements.items() for area in areas},
        limit)
    profiles: dict[str, Row] = {}
    found: dict[str, tuple[float, str | None, str | None, bool]] = {}

    async def consider(ids: list[str]) -> None:
        for profile in await store.read(PROFILES, ids=ids) if ids else []:
            q = profile["id"]
            profiles[q] = profile
            if q in excluded or (not include_same_trade and set(profile["trades"]) & mine):
                continue
            complement, m, theirs = algorithms.best_complement(mine, profile["trades"],
                                                               table.scores)
            same_area = me["area"] is not None and profile["area"] == me["area"]
            found[q] = (complement, m, theirs, same_area)
            search.score(q, algorithms.partner_score(complement, aa.get(q, 0.0),
                                                     profile["reputation"], same_area))

    await consider(near)
    while steps := search.next_reads(STREAMS_PER_READ):
        fresh: set[str] = set()
        for stream, (ids, reputations, more) in (await _stream_pages(store, steps)).items():
            search.read(stream, list(zip(ids, reputations, strict=True)), more)
            fresh.update(q for q in ids if q not in profiles)
        await consider(sorted(fresh))

    top = search.top()
    shared = {r["id"]: r["shared"] for r in await store.read(
        SHARED_CUSTOMERS, id=professional_id, ids=[q for q, _ in top])} if top else {}
    return [_recommendation(q, score, profiles[q], found[q], shared.get(q, 0), aa.get(q, 0.0),
                            me, table) for q, score in top]


def _recommendation(q: str, score: float, profile: Row,
                    found: tuple[float, str | None, str | None, bool], n: int, aa: float,
                    me: Row, table: Table) -> Recommendation:
    complement, mine, theirs, same_area = found
    reasons: list[tuple[float, str]] = []
    if n:
        reasons.append((algorithms.WEIGHTS["customers"] * algorithms.squash(aa),
                        f"{n} of your customers also hired {profile['name']}"))
    if complement > 0 and mine and theirs:
        key = frozenset((mine, theirs))
        lift, both = table.lifts.get(key, 1.0), table.customers.get(key, 0)
        together = (f": {both} customers hired both, {lift:.1f} times as often as chance"
                    if lift > 1 and both else "")
        reasons.append((algorithms.WEIGHTS["complementarity"] * complement,
                        f"{theirs.capitalize()} complements your {mine}{together}"))
    if profile["reputation"] > 0:
        reasons.append((algorithms.WEIGHTS["reputation"] * profile["reputation"],
                        f"Reputation {profile['reputation']:.2f} of 1 in the referral network"))
    if same_area:
        reasons.append((algorithms.WEIGHTS["area"], f"Works in your area ({me['area']})"))
    return Recommendation(q, score, n, [text for _, text in sorted(reasons, key=lambda r: -r[0])])


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
    # A missing trade's first stored page holds its best non-members: no member offers it
    # (one that took it up since the last refresh is left out here).
    pages = await _stream_pages(store, [((t, None), 0) for t in sorted(demand)])
    offering = {t: [q for q in ids if q not in members] for (t, _), (ids, _, _) in pages.items()}
    table = (await _table(store)).scores
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
