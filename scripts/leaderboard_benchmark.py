"""Leaderboard latency: Network.leaderboard and Professional.topReferrers through the whole app.

Usage::

    python scripts/leaderboard_benchmark.py --size medium --rounds 100

Generates the synthetic network of ``--size`` (as ``scripts/benchmark.py`` does), imports it
into an embedded store in a temporary folder, and prints p50 and p95 of each metric for a
network of about the median size and for busy professionals. Figures only; nothing here
asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark import NETWORK_SIZES, SIZES, latencies, open_embedded, print_latencies

from graph import bulk
from seeds.synthetic import synthetic_dataset

BOARD = """query($id: ID!, $metric: LeaderboardMetric) { network(id: $id) {
  leaderboard(metric: $metric, limit: 10) { rank value party { ... on Professional { id } } } } }"""
TOP = """query($id: ID!, $metric: LeaderboardMetric) { professional(id: $id) {
  topReferrers(metric: $metric, limit: 10) { rank value party {
    ... on Professional { id } ... on Customer { displayName } } } } }"""
BUSY = """
MATCH (p:Professional)<-[:FOR]-(:Referral) RETURN DISTINCT p.id AS id LIMIT 500
"""


async def main(args: argparse.Namespace) -> None:
    counts = SIZES[args.size]
    print(f"# leaderboards: size {args.size} {counts}, {args.rounds} rounds")
    data = synthetic_dataset(*counts, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        server, store = await open_embedded(Path(tmp) / "store")
        try:
            await bulk.load(store, data)
            del data
            rng = random.Random(11)
            sizes = await store.read(NETWORK_SIZES)
            median = statistics.median(r["members"] for r in sizes)
            near = [r["id"] for r in sizes if abs(r["members"] - median) <= median * 0.2]
            pros = [r["id"] for r in await store.read(BUSY)]
            specs: list[tuple[str, str, Callable[[], dict[str, Any]]]] = []

            def pick(ids: list[str], metric: str) -> Callable[[], dict[str, Any]]:
                return lambda: {"id": rng.choice(ids), "metric": metric}

            for metric in ("REFERRALS", "CONVERSIONS", "VALUE"):
                specs.append((f"Network.leaderboard {metric}, ~{median:.0f} members", BOARD,
                              pick(near, metric)))
                specs.append((f"Professional.topReferrers {metric}", TOP, pick(pros, metric)))
            print_latencies("leaderboards (target p95 100)",
                            await latencies(store, specs, args.rounds))
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
