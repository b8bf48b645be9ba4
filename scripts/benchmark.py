"""The project's benchmark: import speed and read latency, each against its floor, in one run.

Usage::

    python scripts/benchmark.py --size medium            # 10k pros, 50k customers, ...
    python scripts/benchmark.py --size small --rounds 50
    python scripts/benchmark.py --size xlarge --no-floor --no-peer --baseline-rounds 0 \
        --rounds 50 --keep /tmp/xlarge-store    # 10x medium; then --data-dir /tmp/xlarge-store
    python scripts/benchmark.py --size medium --only integrity --fraud-seeds 1,2,3 \
        --fraud-shares 0.01,0.05                # precision/recall of the fraud detection

It starts two embedded stores in temporary folders,
then prints:

- import: the service's own import path (``graph.bulk.load`` as ``referral-graph seed`` runs it:
  the empty-store check, batching, progress bar) against the floor, the bare ``UNWIND`` statements
  for the same rows sent one batch after another into an empty store with the same constraints
  (generation is timed on its own);
- reads: p50 and p95 of GraphQL queries through the whole app (parse, validate, resolvers,
  DataLoaders, driver), measured alternately with hand-written Cypher that fetches the same data
  in one statement;
- against the peer: this service and ``@neo4j/graphql`` served over HTTP on the same store,
  checked for equal rows and measured side by side at 1 and 10 clients
  (``scripts/peer_benchmark.py``; needs npm, ``--no-peer`` skips the peer).

Each phase prints its wall time, and the run ends with the peak memory of this process (which
serves the GraphQL app in process, so it is the service side) and of the store's process, with the
store's JVM heap where ``jcmd`` can read it.

Figures only; nothing here asserts a target. The README keeps the latest table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from app.auth import mint
from app.main import create_app
from app.settings import Settings
from graph import analytics, bulk
from graph.embedded import BoltAddress, EmbeddedServer
from graph.errors import StoreUnavailable
from graph.migrations import migrate
from graph.store import Store, connect
from seeds.complementary_trades import CURATED
from seeds.fraud import describe, planted_dataset
from seeds.synthetic import SIZES, synthetic_dataset


# -- the floor of an import: the bare UNWIND statements, nothing around them ------------------
async def floor_load(store: Store, data: bulk.Dataset) -> None:
    for name, query, rows in data.statements(empty=True):
        cleaned = bulk._clean(name, rows)  # same rows as the import path sends
        for chunk in bulk.batches(cleaned):
            await store.run_write(query, rows=list(chunk))


# -- phases and memory ------------------------------------------------------------------------
PHASES: list[tuple[str, float]] = []


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time one phase of the run; the list is printed at the end."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        PHASES.append((name, seconds))
        print(f"# phase {name}: {seconds:.1f} s", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """High-water mark of this process's resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_memory(pid: int | None) -> str:
    """The store process's peak resident memory, and its JVM heap if ``jcmd`` can attach."""
    if pid is None:
        return "store process not started here"
    parts = []
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":", 1)
                parts.append(f"{key} {int(value.split()[0]) / 1024:,.0f} MiB")
    except OSError:
        parts.append("no /proc")
    jcmd = shutil.which("jcmd")
    if jcmd:
        try:
            out = subprocess.run([jcmd, str(pid), "GC.heap_info"], capture_output=True,
                                 text=True, timeout=20).stdout
            heap = [ln.strip() for ln in out.splitlines() if "total" in ln and "used" in ln]
            parts.append("JVM heap: " + (heap[0] if heap else "unreadable"))
        except (OSError, subprocess.SubprocessError):
            parts.append("JVM heap: unreadable")
    return ", ".join(parts)


def print_phases(server_pid: int | None) -> None:
    print()
    print("| phase | seconds |")
    print("|---|---:|")
    for name, seconds in PHASES:
        print(f"| {name} | {seconds:.1f} |")
    print()
    print(f"# peak memory: benchmark/service process {peak_rss_mib():,.0f} MiB (ru_maxrss); "
          f"store process: {store_memory(server_pid)}")


# -- reads ------------------------------------------------------------------------------------
@dataclass
class Read:
    name: str
    graphql: str
    cypher: str
    params: Callable[[random.Random, dict[str, list[Any]]], dict[str, Any]]


# The parties of a page of referrals, each read where its row is already in hand: a MATCH of
# the parties after the LIMIT is planned over every referral by the embedded store.
PAGE_PARTIES = """RETURN r.id, r.status, r.createdAt,
             head([(r)<-[:MADE]-(a) | [a.id, a.name]]) AS referrer,
             head([(r)-[:FOR]->(p:Professional) | [p.id, p.name]]) AS professional,
             head([(r)-[:INTRODUCES]->(c:Customer) | [c.id, c.name]]) AS referee"""
PARTIES_GRAPHQL = """nodes { id status createdAt
            referrer { ... on Customer { id name } ... on Professional { id name } }
            professional { id name } referee { id name } }"""

READS = [
    # The global lists: by hand, each page is one index-backed range that holds exactly the
    # page (found once before measuring, see page_windows); the service finds its own window.
    Read(
        "page of 20 referrals + 3 parties",
        f"query {{ referrals(first: 20) {{ {PARTIES_GRAPHQL} }} }}",
        f"""MATCH (r:Referral) WHERE r.createdAt >= $from
           WITH r ORDER BY r.createdAt DESC, r.id DESC LIMIT 20
           {PAGE_PARTIES}""",
        lambda rng, ids: {"from": ids["referral_first"][0]},
    ),
    Read(
        "page of 20 referrals + 3 parties, after a random cursor",
        f"""query($after: String) {{ referrals(first: 20, after: $after) {{
            {PARTIES_GRAPHQL} }} }}""",
        f"""MATCH (r:Referral) WHERE r.createdAt >= $from AND r.createdAt <= $at
             AND (r.createdAt < $at OR r.id < $id)
           WITH r ORDER BY r.createdAt DESC, r.id DESC LIMIT 20
           {PAGE_PARTIES}""",
        lambda rng, ids: rng.choice(ids["referral_after"]),
    ),
    Read(
        "professionals directory, first 20",
        "query { professionals(first: 20) { nodes { id name trades area } } }",
        """MATCH (p:Professional) WHERE p.id < $upper WITH p ORDER BY p.id LIMIT 20
           RETURN p.id, p.name, p.trades, p.area""",
        lambda rng, ids: {"upper": ids["professional_first"][0]},
    ),
    Read(
        "professionals directory, 20 after a random cursor",
        """query($after: String) { professionals(first: 20, after: $after) {
            nodes { id name trades area } } }""",
        """MATCH (p:Professional) WHERE p.id > $id AND p.id < $upper
           WITH p ORDER BY p.id LIMIT 20 RETURN p.id, p.name, p.trades, p.area""",
        lambda rng, ids: rng.choice(ids["professional_after"]),
    ),
    Read(
        "professionals of one trade, 20 after a random cursor",
        """query($after: String, $trade: String) { professionals(first: 20, after: $after,
            trade: $trade) { nodes { id name trades area } } }""",
        """MATCH (p:Professional) WHERE p.id > $id AND p.id < $upper AND $trade IN p.trades
           WITH p ORDER BY p.id LIMIT 20 RETURN p.id, p.name, p.trades, p.area""",
        lambda rng, ids: rng.choice(ids["trade_after"]),
    ),
    Read(
        "customers directory, first 20",
        "query { customers(first: 20) { nodes { id name area } } }",
        """MATCH (c:Customer) WHERE c.id < $upper WITH c ORDER BY c.id LIMIT 20
           RETURN c.id, c.name, c.area""",
        lambda rng, ids: {"upper": ids["customer_first"][0]},
    ),
    Read(
        "customers directory, 20 after a random cursor",
        """query($after: String) { customers(first: 20, after: $after) {
            nodes { id name area } } }""",
        """MATCH (c:Customer) WHERE c.id > $id AND c.id < $upper
           WITH c ORDER BY c.id LIMIT 20 RETURN c.id, c.name, c.area""",
        lambda rng, ids: rng.choice(ids["customer_after"]),
    ),
    Read(
        "professional + 20 referrals received + parties",
        """query($id: ID!) { professional(id: $id) { id name trades
            referralsReceived(first: 20) { totalCount nodes { id status
              referrer { ... on Customer { id name } ... on Professional { id name } }
              referee { id name } } } } }""",
        """MATCH (p:Professional {id: $id})
           CALL (p) { MATCH (p)<-[:FOR]-(r:Referral) RETURN count(r) AS total }
           CALL (p) { MATCH (p)<-[:FOR]-(r:Referral)
                      WITH r ORDER BY r.createdAt DESC, r.id DESC LIMIT 20
                      MATCH (r)<-[:MADE]-(a), (r)-[:INTRODUCES]->(c:Customer)
                      RETURN collect([r.id, r.status, a.id, a.name, c.id, c.name]) AS rows }
           RETURN p.id, p.name, p.trades, total, rows""",
        lambda rng, ids: {"id": rng.choice(ids["pro"])},
    ),
    Read(
        "customer + 20 jobs + professionals",
        """query($id: ID!) { customer(id: $id) { id name
            jobs(first: 20) { nodes { id trade rating completedAt
              professional { id name } } } } }""",
        """MATCH (c:Customer {id: $id})
           CALL (c) { MATCH (c)-[:BOOKED]->(j:Job)
                      WITH j ORDER BY j.completedAt DESC, j.id DESC LIMIT 20
                      MATCH (j)-[:DONE_BY]->(p:Professional)
                      RETURN collect([j.id, j.trade, j.rating, j.completedAt, p.id,
                                      p.name]) AS rows }
           RETURN c.id, c.name, rows""",
        lambda rng, ids: {"id": rng.choice(ids["cus"])},
    ),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> float:
    """Milliseconds that ``call(*args, **kwargs)`` takes."""
    start = time.perf_counter()
    await call(*args, **kwargs)
    return (time.perf_counter() - start) * 1000


BENCH_SETTINGS = Settings(auth_secret="benchmark-secret-" + "x" * 32, rate_limit=10**9,
                          rate_burst=10**9)


class GraphQL:
    """The whole app in process, with an admin token."""

    def __init__(self, store: Store) -> None:
        app = create_app(BENCH_SETTINGS, store=store)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://bench")
        self.headers = {"authorization": "Bearer " + mint(BENCH_SETTINGS, "admin", "admin:b")}

    async def __call__(self, query: str, params: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.post("/graphql", json={"query": query, "variables": params},
                                 headers=self.headers)
        body = r.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]


async def measure_reads(
    store: Store, ids: dict[str, list[Any]], rounds: int, reads: list[Read]
) -> list[tuple[str, float, float, float, float]]:
    rng = random.Random(7)
    out = []
    client = GraphQL(store)
    async with client.http:

        async def graphql(read: Read, params: dict[str, Any]) -> None:
            await client(read.graphql, params)

        for read in reads:
            gq: list[float] = []
            cy: list[float] = []
            over = False  # the hand-written statement ran past the store's budget once
            for i in range(rounds + 5):
                params = read.params(rng, ids)
                # Alternate which goes first, so that neither always meets a warm cache.
                order = [("g", graphql), ("c", None)] if i % 2 else [("c", None), ("g", graphql)]
                for kind, _ in order:
                    if kind == "g":
                        ms = await timed(graphql, read, params)
                        (gq if i >= 5 else []).append(ms)
                    elif not over:
                        try:
                            ms = await timed(store.read, read.cypher, **params)
                        except StoreUnavailable:
                            # The statement that sorts every referral outgrows the script's
                            # 10 s budget at xlarge; report that rather than wait it out again.
                            over = True
                            print(f"# {read.name}: hand-written Cypher over the store's "
                                  f"{store.timeout:g} s budget; not measured", file=sys.stderr)
                            continue
                        (cy if i >= 5 else []).append(ms)
            nan = float("nan")
            out.append((read.name, pct(gq, 0.5), pct(gq, 0.95),
                        nan if over else pct(cy, 0.5), nan if over else pct(cy, 0.95)))
    return out


# -- trust: the service's bounded neighbourhood against the whole graph per request ------------
WHOLE_GRAPH = [
    """MATCH (c:Customer)-[:BOOKED]->(j:Job)-[:DONE_BY]->(p:Professional)
       WHERE c.erased IS NULL AND j.confirmed = true
       RETURN c.id AS source, 'HIRED' AS relation, p.id AS target, j.id AS via,
              j.completedAt AS at, j.rating AS rating, null AS status, false AS verified""",
    """MATCH (r:Referral)-[:FOR]->(p:Professional) MATCH (r)<-[:MADE]-(a) WHERE a.erased IS NULL
       RETURN a.id AS source, 'REFERRED' AS relation, p.id AS target, r.id AS via,
              r.createdAt AS at, null AS rating, r.status AS status, r.verified AS verified""",
    """MATCH (r:Referral)-[:INTRODUCES]->(c:Customer) MATCH (r)<-[:MADE]-(a)
       WHERE c.erased IS NULL AND a.erased IS NULL
       RETURN c.id AS source, 'REFERRED_BY' AS relation, a.id AS target, r.id AS via,
              r.createdAt AS at, null AS rating, r.status AS status, r.verified AS verified""",
]
TRUST_PATHS = """query($from: ID!, $to: ID!) { trustPaths(from: $from, to: $to) {
  trust hops { relation trust at from { __typename } to { __typename } } } }"""
TRUSTED = """query($id: ID!) { customer(id: $id) { trustedProfessionals {
  trust professional { id name } path { hops { relation } } } } }"""


async def whole_graph_trust(store: Store, source: str, target: str | None) -> int:
    """The naive way: load every trust relation into networkx, then run the same algorithm."""
    from graph import timeutil
    from graph.algorithms import trust as algorithms
    from graph.projection import TrustEdge, trust_graph

    edges = [TrustEdge(**r) for q in WHOLE_GRAPH for r in await store.read(q)]
    G = trust_graph(edges, timeutil.now())
    if target is None:
        return len(algorithms.best_paths_from(G, source, 4))
    return len(algorithms.most_trusted_paths(G, source, target, 3, 5))


async def print_trust(store: Store, rounds: int, baseline_rounds: int) -> None:
    from graph import trust

    rng = random.Random(11)
    sources = [r["id"] for r in await store.read(
        "MATCH (c:Customer)<-[:INTRODUCES]-(:Referral) RETURN DISTINCT c.id AS id LIMIT 400")]
    pairs = []
    for source in rng.sample(sources, min(len(sources), 60)):
        reach = await trust.trusted_professionals(store, source, 4, 50)
        if reach:
            pairs.append((source, rng.choice(reach)[0].id))
    client = GraphQL(store)
    rows = []
    async with client.http:
        for name, query, params in [
            ("trustPaths (limit 3, maxHops 5)", TRUST_PATHS,
             lambda: dict(zip(("from", "to"), rng.choice(pairs), strict=True))),
            ("trustedProfessionals (limit 10, maxHops 4)", TRUSTED,
             lambda: {"id": rng.choice(pairs)[0]}),
        ]:
            for _ in range(5):
                await client(query, params())
            times = [await timed(client, query, params()) for _ in range(rounds)]
            base = []
            for _ in range(baseline_rounds):
                source, target = rng.choice(pairs)
                goal = target if "trustPaths" in name else None
                base.append(await timed(whole_graph_trust, store, source, goal))
            rows.append((name, pct(times, .5), pct(times, .95),
                         pct(base, .5) if base else None, pct(base, .95) if base else None))
    print()
    if not baseline_rounds:  # --baseline-rounds 0: the service's figures only
        print_latencies(f"trust ({rounds} rounds; no whole-graph baseline)",
                        [(name, p50, p95) for name, p50, p95, _, _ in rows])
        return
    print(f"| trust ({rounds} rounds; whole graph {baseline_rounds}) | p50 ms | p95 ms | "
          "whole-graph p50 ms | whole-graph p95 ms | p50 ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, p50, p95, b50, b95 in rows:
        assert b50 is not None and b95 is not None
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {b50:.0f} | {b95:.0f} | {b50 / p50:.0f}x |")


async def latencies(
    store: Store, specs: list[tuple[str, str, Callable[[], dict[str, Any]]]], rounds: int
) -> list[tuple[str, float, float]]:
    """p50 and p95 of each (name, GraphQL query, variables picker), after a short warm-up."""
    client = GraphQL(store)
    rows = []
    async with client.http:
        for name, query, pick in specs:
            for _ in range(3):
                await client(query, pick())
            times = [await timed(client, query, pick()) for _ in range(rounds)]
            rows.append((name, pct(times, .5), pct(times, .95)))
    return rows


def print_latencies(title: str, rows: list[tuple[str, float, float]]) -> None:
    print()
    print(f"| {title} | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for name, p50, p95 in rows:
        print(f"| {name} | {p50:.1f} | {p95:.1f} |")


# -- reciprocity ---------------------------------------------------------------------------------
PRO_RECIPROCITY = """query($id: ID!) { professional(id: $id) { reciprocity {
  given received balance convertedGiven valueGiven partners { partner { id } balance } } } }"""
NETWORK_RECIPROCITY = """query($id: ID!) { network(id: $id) { reciprocity {
  referrals coefficient givers { professional { id } balance }
  takers { professional { id } balance } } } }"""
BUSY_PROFESSIONALS = """
MATCH (p:Professional)-[:MADE]->(:Referral)-[:FOR]->(:Professional)
RETURN DISTINCT p.id AS id LIMIT 500
"""
NETWORK_SIZES = """
MATCH (n:Network)<-[:MEMBER_OF {status: 'ACTIVE'}]-(p:Professional)
RETURN n.id AS id, count(p) AS members
"""


async def print_reciprocity(store: Store, rounds: int) -> None:
    rng = random.Random(5)
    pros = [r["id"] for r in await store.read(BUSY_PROFESSIONALS)]
    sizes = await store.read(NETWORK_SIZES)
    hundred = [r["id"] for r in sizes if 90 <= r["members"] <= 110] or [r["id"] for r in sizes]
    members = statistics.median(r["members"] for r in sizes)
    rows = await latencies(store, [
        ("Professional.reciprocity (target p95 50)", PRO_RECIPROCITY,
         lambda: {"id": rng.choice(pros)}),
        (f"Network.reciprocity, ~{members:.0f} members (target p95 300)", NETWORK_RECIPROCITY,
         lambda: {"id": rng.choice(hundred)}),
    ], rounds)
    print_latencies(f"reciprocity ({rounds} rounds)", rows)


# -- partners --------------------------------------------------------------------------------------
RECOMMEND = """query($id: ID!) { professional(id: $id) { partnerRecommendations {
  partner { id name trades } score sharedCustomers reasons } } }"""
GAPS = """query($id: ID!) { network(id: $id) { gaps {
  missingTrades { trade demand candidates { id name } }
  unconnectedPairs { a { id } b { id } score } passiveMembers { id } topReferrerShare } } }"""
HIRED_PROFESSIONALS = """
MATCH (p:Professional)<-[:DONE_BY]-(:Job) RETURN DISTINCT p.id AS id LIMIT 1000
"""


async def print_partners(store: Store, rounds: int) -> None:
    from graph import analytics
    from seeds.complementary_trades import CURATED

    before = peak_rss_mib()
    with phase("analytics refresh"):
        done = await analytics.refresh(store, curated=CURATED)
    after = peak_rss_mib()
    rng = random.Random(9)
    pros = [r["id"] for r in await store.read(HIRED_PROFESSIONALS)]
    sizes = await store.read(NETWORK_SIZES)
    hundred = [r["id"] for r in sizes if 90 <= r["members"] <= 110] or [r["id"] for r in sizes]
    rows = await latencies(store, [
        ("partnerRecommendations (limit 10) (target p95 300)", RECOMMEND,
         lambda: {"id": rng.choice(pros)}),
        ("Network.gaps, ~100 members (target p95 1000)", GAPS,
         lambda: {"id": rng.choice(hundred)}),
    ], rounds)
    print_latencies(f"partners ({rounds} rounds)", rows)
    print(f"| analytics refresh: reputation of {done.professionals} professionals, "
          f"complementarity of {done.trades} trades (target 60 s) | {done.seconds:.1f} s | |")
    print(f"# analytics refresh: peak resident memory of this process {before:,.0f} MiB before, "
          f"{after:,.0f} MiB after (a rise is the refresh's own peak)")


async def open_embedded(folder: Path) -> tuple[EmbeddedServer, Store]:
    server, store, _ = await open_embedded_at(folder)
    return server, store


async def open_embedded_at(folder: Path) -> tuple[EmbeddedServer, Store, BoltAddress]:
    """The store and its Bolt address, which the servers of the peer comparison connect to."""
    server = EmbeddedServer(folder)
    address = await asyncio.to_thread(server.start)
    store = connect(address.uri, address.user, address.password, address.database)
    await store.ensure_schema()
    await migrate(store)
    return server, store, address


SAMPLE_IDS = {
    "pro": "MATCH (p:Professional) RETURN p.id AS id LIMIT 2000",
    "cus": "MATCH (c:Customer) RETURN c.id AS id LIMIT 2000",
}


async def print_peer(args: argparse.Namespace, address: BoltAddress, store: Store,
                     tmp: Path, store_pid: int | None = None) -> None:
    """This service and @neo4j/graphql over HTTP on the same store (scripts/peer_benchmark.py)."""
    from peer_benchmark import side_by_side

    await side_by_side(address, store, tmp, peer=not args.no_peer, workers=args.workers,
                       seconds=args.seconds,
                       warmup=args.warmup, samples=args.samples, store_pid=store_pid)


async def measure_all(args: argparse.Namespace, address: BoltAddress, store: Store,
                      tmp: Path, store_pid: int | None = None) -> None:
    with phase("reads"):
        await print_reads(store, args.rounds)
    if args.reads_only:
        return
    with phase("peer comparison"):
        await print_peer(args, address, store, tmp, store_pid)
    with phase("trust"):
        await print_trust(store, args.rounds, args.baseline_rounds)
    with phase("reciprocity"):
        await print_reciprocity(store, args.rounds)
    with phase("partners (with the refresh)"):
        await print_partners(store, args.rounds)


async def reads_only(args: argparse.Namespace) -> None:
    with phase("store start"):
        server, store, address = await open_embedded_at(Path(args.data_dir))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            await measure_all(args, address, store, Path(tmp), server.pid)
    finally:
        pid = server.pid
        print_phases(pid)
        await store.close()
        await asyncio.to_thread(server.stop)


ALL_REFERRAL_KEYS = """MATCH (r:Referral) RETURN r.createdAt AS at, r.id AS id
ORDER BY at DESC, id DESC"""
ALL_IDS = "MATCH (x:{label}) {where} RETURN x.id AS id ORDER BY id"
# The trade of the trade-filtered directory read (the synthetic catalogue's commonest).
TRADE = "plumbing"
CURSORS = 50


async def page_windows(store: Store) -> dict[str, list[Any]]:
    """For the global lists: random cursors, and for each the bounds of the index range that
    holds exactly the 20 rows after it (what a hand-written statement would need to know)."""
    from graph.pagination import encode_cursor

    rng = random.Random(3)
    out: dict[str, list[Any]] = {}
    keys = await store.read(ALL_REFERRAL_KEYS)
    out["referral_first"] = [keys[min(19, len(keys) - 1)]["at"]] if keys else [""]
    out["referral_after"] = []
    for i in rng.sample(range(max(1, len(keys) - 21)), min(CURSORS, max(0, len(keys) - 21))):
        at, ref = keys[i]["at"], keys[i]["id"]
        out["referral_after"].append({"after": encode_cursor([at, ref]), "at": at, "id": ref,
                                      "from": keys[i + 20]["at"]})
    for name, label, where, extra in [("professional", "Professional", "", {}),
                                      ("trade", "Professional", "WHERE $trade IN x.trades",
                                       {"trade": TRADE}),
                                      ("customer", "Customer", "", {})]:
        ids = [r["id"] for r in await store.read(ALL_IDS.format(label=label, where=where),
                                                 **extra)]
        out[f"{name}_first"] = [ids[min(20, len(ids) - 1)] if ids else ""]
        out[f"{name}_after"] = []
        for i in rng.sample(range(max(1, len(ids) - 21)), min(CURSORS, max(0, len(ids) - 21))):
            out[f"{name}_after"].append({"after": encode_cursor([ids[i]]), "id": ids[i],
                                         "upper": ids[i + 21], **extra})
    return out


async def print_reads(store: Store, rounds: int) -> None:
    ids: dict[str, list[Any]] = {k: [r["id"] for r in await store.read(q)]
                                 for k, q in SAMPLE_IDS.items()}
    with store.batch():  # reading every key of a 10x network takes more than a read's budget
        ids.update(await page_windows(store))
    results = await measure_reads(store, ids, rounds, READS)
    print()
    print(f"| read ({rounds} rounds) | GraphQL p50 ms | GraphQL p95 ms | "
          "Cypher p50 ms | Cypher p95 ms | p95 ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, g50, g95, c50, c95 in results:
        print(f"| {name} | {g50:.1f} | {g95:.1f} | {c50:.1f} | {c95:.1f} | {g95 / c95:.2f} |")


# -- integrity: planted fraud found, precision and recall ----------------------------------
RISKY = "MATCH (p:Professional) WHERE p.riskScore >= $min RETURN p.id AS id"


async def print_integrity(args: argparse.Namespace) -> None:
    """Plant fraud in the network of ``--size`` for each of ``--fraud-seeds`` and
    ``--fraud-shares``, load it into a fresh embedded store, run the analytics refresh (whose
    integrity batch scores it) and compare the professionals stored with riskScore >= 0.5 with
    the ground truth."""
    counts = SIZES[args.size]
    seeds = [int(x) for x in args.fraud_seeds.split(",")]
    shares = [float(x) for x in args.fraud_shares.split(",")]
    print(f"# integrity: size {args.size} {counts}, seeds {seeds}, planted shares {shares}")
    rows = []
    for seed in seeds:
        for share in shares:
            with phase(f"plant seed {seed} share {share:g}"):
                data, truth = planted_dataset(*counts, seed=seed, share=share)
            print(f"# seed {seed}: {describe(truth)}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                server, store = await open_embedded(Path(tmp) / "planted")
                try:
                    with phase(f"import seed {seed} share {share:g}"):
                        await bulk.load(store, data)
                    del data
                    with phase(f"refresh seed {seed} share {share:g}"):
                        await analytics.refresh(store, timeout=3600, curated=CURATED)
                    refresh = PHASES[-1][1]
                    flagged = {r["id"] for r in await store.read(RISKY, min=0.5)}
                finally:
                    await store.close()
                    await asyncio.to_thread(server.stop)
            precision, recall = truth.precision_recall(flagged)
            lookalikes = len(flagged & truth.lookalikes.keys())
            rows.append((seed, share, len(truth.fraudulent), len(flagged), precision, recall,
                         lookalikes, refresh))
    print()
    print("| seed | planted share | fraudulent | flagged (score >= 0.5) | precision | recall | "
          "look-alikes flagged | refresh s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed, share, fraud, flagged_n, precision, recall, lookalikes, refresh in rows:
        print(f"| {seed} | {share:.0%} | {fraud} | {flagged_n} | {precision:.3f} | {recall:.3f} "
              f"| {lookalikes} | {refresh:.1f} |")


async def main(args: argparse.Namespace) -> None:
    if args.only == "integrity":
        try:
            await print_integrity(args)
        finally:
            print_phases(None)
        return
    if args.data_dir:
        await reads_only(args)
        return
    counts = SIZES[args.size]
    print(f"# benchmark: size {args.size} {counts} (professionals, customers, jobs, referrals)")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        raise SystemExit(f"--keep {args.keep}: the folder must be new or empty")
    with tempfile.TemporaryDirectory() as tmp:
        with phase("generation"):
            data = synthetic_dataset(*counts, seed=args.seed)
        generation = PHASES[-1][1]
        rows = sum(len(r) for _, _, r in data.statements())
        print(f"# {rows} rows, {data.relationships} relationships; generation {generation:.1f} s; "
              f"peak memory {peak_rss_mib():,.0f} MiB", flush=True)

        floor = None
        if not args.no_floor:
            floor_server, floor_store = await open_embedded(Path(tmp) / "floor")
            with phase("floor import"):
                await floor_load(floor_store, data)
            floor = PHASES[-1][1]
            await floor_store.close()
            await asyncio.to_thread(floor_server.stop)

        folder = Path(args.keep) if args.keep else Path(tmp) / "service"
        server, store, address = await open_embedded_at(folder)
        try:
            from tqdm import tqdm

            with phase("service import"), tqdm(total=rows, unit="rows", file=sys.stderr,
                                               disable=args.quiet) as bar:
                await bulk.load(store, data, lambda name, n: bar.update(n))
            imported = PHASES[-1][1]
            del data  # the rows are in the store now; the reads need none of them
            print()
            print("| import | seconds | rows/s | ratio to floor |")
            print("|---|---:|---:|---:|")
            if floor is not None:
                print(f"| floor: bare UNWIND CREATE | {floor:.1f} | {rows / floor:,.0f} | 1.00 |")
            ratio = f"{imported / floor:.2f}" if floor is not None else "(floor skipped)"
            print(f"| service import (bulk.load, as `seed` runs it) | {imported:.1f} | "
                  f"{rows / imported:,.0f} | {ratio} |", flush=True)

            await measure_all(args, address, store, Path(tmp), server.pid)
        finally:
            print_phases(server.pid)
            await store.close()
            await asyncio.to_thread(server.stop)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="small")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--baseline-rounds", type=int, default=5,
                   help="rounds of the whole-graph baselines (each takes seconds)")
    p.add_argument("--data-dir", help="measure reads only, on an embedded store already "
                   "seeded in this folder (e.g. by `referral-graph seed synthetic` or --keep)")
    p.add_argument("--reads-only", action="store_true", help="with --data-dir: only the "
                   "reads table (anchored reads and global lists, each against Cypher)")
    p.add_argument("--keep", metavar="DIR", help="import into this new folder and keep it, so "
                   "that later runs can measure reads on it with --data-dir")
    p.add_argument("--no-floor", action="store_true",
                   help="skip the floor import (a second full import: minutes at xlarge)")
    p.add_argument("--only", choices=["integrity"],
                   help="integrity: precision and recall of the fraud detection on networks "
                   "of --size with planted fraud (one import and refresh per seed and share)")
    p.add_argument("--fraud-seeds", default="1,2,3",
                   help="with --only integrity: comma-separated seeds (default 1,2,3)")
    p.add_argument("--fraud-shares", default="0.03",
                   help="with --only integrity: comma-separated planted shares of the "
                   "professionals, each 0.01..0.05 (default 0.03)")
    from peer_benchmark import add_options

    add_options(p)
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
