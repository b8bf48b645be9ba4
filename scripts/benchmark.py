"""The project's benchmark: import speed and read latency, each against its floor, in one run.

Usage::

    python scripts/benchmark.py --size medium            # 10k pros, 50k customers, ...
    python scripts/benchmark.py --size small --rounds 50

It starts two embedded stores in temporary folders,
then prints:

- import: the service's own import path (``referral-graph seed synthetic``: generation, batching,
  idempotent MERGE statements, progress bar) against the floor, the bare ``UNWIND .. CREATE``
  statements for the same rows into an empty store with the same constraints;
- reads: p50 and p95 of GraphQL queries through the whole app (parse, validate, resolvers,
  DataLoaders, driver), measured alternately with hand-written Cypher that fetches the same data
  in one statement.

Figures only; nothing here asserts a target. The README keeps the latest table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from graph import bulk  # noqa: E402
from graph.embedded import EmbeddedServer  # noqa: E402
from graph.store import Store, connect  # noqa: E402
from seeds.synthetic import SIZES, synthetic_dataset  # noqa: E402

# -- the floor of an import: bare statements, no idempotency guards ------------------------------
FLOOR = {
    "professionals": "UNWIND $rows AS r CREATE (p:Professional {id: r.id, name: r.name, "
    "trades: r.trades, area: r.area, createdAt: r.createdAt})",
    "customers": "UNWIND $rows AS r CREATE (c:Customer {id: r.id, name: r.name, area: r.area, "
    "createdAt: r.createdAt})",
    "networks": "UNWIND $rows AS r CREATE (n:Network {id: r.id, name: r.name, "
    "createdAt: r.createdAt})",
    "memberships": "UNWIND $rows AS r MATCH (p:Professional {id: r.professionalId}), "
    "(n:Network {id: r.networkId}) CREATE (p)-[:MEMBER_OF {since: r.since}]->(n)",
    "jobs": "UNWIND $rows AS r MATCH (c:Customer {id: r.customerId}), "
    "(p:Professional {id: r.professionalId}) CREATE (c)-[:BOOKED]->(:Job {id: r.id, "
    "trade: r.trade, completedAt: r.completedAt, rating: r.rating, value: r.value, "
    "createdAt: r.createdAt})-[:DONE_BY]->(p)",
    "conversions": "UNWIND $rows AS r MATCH (x:Referral {id: r.referralId}), "
    "(j:Job {id: r.jobId}) CREATE (x)-[:CONVERTED_TO]->(j)",
}
_FLOOR_REFERRALS = (
    "UNWIND $rows AS r MATCH (a:{label} {{id: r.referrerId}}), "
    "(p:Professional {{id: r.professionalId}}), (c:Customer {{id: r.refereeId}}) "
    "CREATE (a)-[:MADE]->(x:Referral {{id: r.id, status: r.status, verified: r.verified, "
    "note: r.note, createdAt: r.createdAt, updatedAt: r.updatedAt, "
    "statusHistory: r.statusHistory, statusTimes: r.statusTimes, openKey: r.openKey}})"
    "-[:FOR]->(p) CREATE (x)-[:INTRODUCES]->(c)"
)


def floor_statement(name: str, query: str) -> str:
    if name == "referrals":
        label = "Customer" if "a:Customer" in query else "Professional"
        return _FLOOR_REFERRALS.format(label=label)
    return FLOOR[name]


async def floor_load(store: Store, data: bulk.Dataset) -> None:
    for name, query, rows in data.statements():
        cleaned = bulk._clean(name, rows)  # same rows as the import path sends
        for chunk in bulk.batches(cleaned):
            await store.run_write(floor_statement(name, query), rows=list(chunk))


# -- reads ------------------------------------------------------------------------------------
@dataclass
class Read:
    name: str
    graphql: str
    cypher: str
    params: Callable[[random.Random, dict[str, list[str]]], dict[str, Any]]


READS = [
    Read(
        "page of 20 referrals + 3 parties",
        """query { referrals(first: 20) { nodes { id status createdAt
            referrer { ... on Customer { id name } ... on Professional { id name } }
            professional { id name } referee { id name } } } }""",
        """MATCH (r:Referral) WITH r ORDER BY r.createdAt DESC, r.id DESC LIMIT 20
           MATCH (r)<-[:MADE]-(a), (r)-[:FOR]->(p:Professional), (r)-[:INTRODUCES]->(c:Customer)
           RETURN r.id, r.status, r.createdAt, a.id, a.name, p.id, p.name, c.id, c.name""",
        lambda rng, ids: {},
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
            jobs(first: 20) { nodes { id trade rating completedAt professional { id name } } } } }""",
        """MATCH (c:Customer {id: $id})
           CALL (c) { MATCH (c)-[:BOOKED]->(j:Job)
                      WITH j ORDER BY j.completedAt DESC, j.id DESC LIMIT 20
                      MATCH (j)-[:DONE_BY]->(p:Professional)
                      RETURN collect([j.id, j.trade, j.rating, j.completedAt, p.id, p.name]) AS rows }
           RETURN c.id, c.name, rows""",
        lambda rng, ids: {"id": rng.choice(ids["cus"])},
    ),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


async def measure_reads(
    store: Store, ids: dict[str, list[str]], rounds: int, reads: list[Read]
) -> list[tuple[str, float, float, float, float]]:
    app = create_app(Settings(), store=store)
    rng = random.Random(7)
    out = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as http:

        async def graphql(read: Read, params: dict[str, Any]) -> None:
            r = await http.post("/graphql", json={"query": read.graphql, "variables": params})
            body = r.json()
            if "errors" in body:
                raise RuntimeError(body["errors"])

        for read in reads:
            gq, cy = [], []
            for i in range(rounds + 5):
                params = read.params(rng, ids)
                # Alternate which goes first, so that neither always meets a warm cache.
                order = [("g", graphql), ("c", None)] if i % 2 else [("c", None), ("g", graphql)]
                for kind, _ in order:
                    if kind == "g":
                        ms = await timed(lambda: graphql(read, params))
                        (gq if i >= 5 else []).append(ms)
                    else:
                        ms = await timed(lambda: store.read(read.cypher, **params))
                        (cy if i >= 5 else []).append(ms)
            out.append((read.name, pct(gq, 0.5), pct(gq, 0.95), pct(cy, 0.5), pct(cy, 0.95)))
    return out


async def open_embedded(folder: Path) -> tuple[EmbeddedServer, Store]:
    server = EmbeddedServer(folder)
    address = await asyncio.to_thread(server.start)
    store = connect(address.uri, address.user, address.password, address.database)
    await store.ensure_schema()
    return server, store


SAMPLE_IDS = {
    "pro": "MATCH (p:Professional) RETURN p.id AS id LIMIT 2000",
    "cus": "MATCH (c:Customer) RETURN c.id AS id LIMIT 2000",
}


async def reads_only(args: argparse.Namespace) -> None:
    server, store = await open_embedded(Path(args.data_dir))
    try:
        await print_reads(store, args.rounds)
    finally:
        await store.close()
        await asyncio.to_thread(server.stop)


async def print_reads(store: Store, rounds: int) -> None:
    ids = {k: [r["id"] for r in await store.read(q)] for k, q in SAMPLE_IDS.items()}
    results = await measure_reads(store, ids, rounds, READS)
    print()
    print(f"| read ({rounds} rounds) | GraphQL p50 ms | GraphQL p95 ms | "
          "Cypher p50 ms | Cypher p95 ms | p95 ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, g50, g95, c50, c95 in results:
        print(f"| {name} | {g50:.1f} | {g95:.1f} | {c50:.1f} | {c95:.1f} | {g95 / c95:.2f} |")


async def main(args: argparse.Namespace) -> None:
    if args.data_dir:
        await reads_only(args)
        return
    counts = SIZES[args.size]
    print(f"# benchmark: size {args.size} {counts} (professionals, customers, jobs, referrals)")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    with tempfile.TemporaryDirectory() as tmp:
        generated = time.perf_counter()
        data = synthetic_dataset(*counts, seed=args.seed)
        generation = time.perf_counter() - generated
        rows = sum(len(r) for _, _, r in data.statements())
        print(f"# {rows} rows, {data.relationships} relationships; generation {generation:.1f} s")

        floor_server, floor_store = await open_embedded(Path(tmp) / "floor")
        start = time.perf_counter()
        await floor_load(floor_store, data)
        floor = time.perf_counter() - start
        await floor_store.close()
        await asyncio.to_thread(floor_server.stop)

        server, store = await open_embedded(Path(tmp) / "service")
        try:
            start = time.perf_counter()
            fresh = synthetic_dataset(*counts, seed=args.seed)  # the import path generates too
            from tqdm import tqdm

            with tqdm(total=rows, unit="rows", file=sys.stderr, disable=args.quiet) as bar:
                await bulk.load(store, fresh, lambda name, n: bar.update(n))
            imported = time.perf_counter() - start
            print()
            print("| import | seconds | rows/s | ratio to floor |")
            print("|---|---:|---:|---:|")
            print(f"| floor: bare UNWIND CREATE | {floor:.1f} | {rows / floor:,.0f} | 1.00 |")
            print(f"| service import (generate + load) | {imported:.1f} | "
                  f"{rows / imported:,.0f} | {imported / floor:.2f} |")

            await print_reads(store, args.rounds)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="small")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--data-dir", help="measure reads only, on an embedded store already "
                   "seeded in this folder (e.g. by `referral-graph seed synthetic`)")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
