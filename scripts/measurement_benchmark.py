"""Measurement latency: funnels, referral statistics, and a network's matrix and trend, through
the whole app.

Usage::

    python scripts/measurement_benchmark.py --size medium --rounds 100 --stats-rounds 20
    python scripts/measurement_benchmark.py --size medium --only stats --stats-rounds 20
    python scripts/measurement_benchmark.py --size medium --data-dir /tmp/medium  # kept, reused

Generates the synthetic network of ``--size`` (as ``scripts/benchmark.py`` does), imports it
into an embedded store in a temporary folder, and prints p50 and p95 of: the funnels of busy
professionals and of networks of about the median size; ``referralStats`` by MONTH and TRADE
over all referrals (as an admin); and the reciprocity matrix and 12-month trend that the
organiser page draws (``--only stats``: the statistic alone). Figures only; nothing here asserts
a target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from pathlib import Path

from benchmark import NETWORK_SIZES, SIZES, latencies, open_embedded, print_latencies

from graph import bulk
from seeds.synthetic import synthetic_dataset

FUNNEL = ("referrals accepted converted declined expired open conversionRate "
          "medianDaysToConvert value")
PRO_FUNNEL = f"""query($id: ID!) {{ professional(id: $id) {{
  referralFunnel {{ {FUNNEL} }} }} }}"""
NET_FUNNEL = f"""query($id: ID!) {{ network(id: $id) {{ referralFunnel {{ {FUNNEL} }} }} }}"""
STATS = f"""query {{ referralStats(groupBy: [MONTH, TRADE]) {{ key funnel {{ {FUNNEL} }} }} }}"""
MATRIX = """query($id: ID!) { network(id: $id) { reciprocityMatrix {
  giver { id name } receiver { id name } referrals converted value } } }"""
TREND = """query($id: ID!) { network(id: $id) {
  reciprocityTrend(months: 12) { month referrals converted } } }"""
BUSY = """
MATCH (p:Professional)<-[:FOR]-(:Referral) RETURN DISTINCT p.id AS id LIMIT 500
"""


async def main(args: argparse.Namespace) -> None:
    counts = SIZES[args.size]
    print(f"# measurement: size {args.size} {counts}, {args.rounds} rounds "
          f"({args.stats_rounds} for referralStats)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp) / "store"
        server, store = await open_embedded(folder)
        try:
            if await bulk.is_empty(store):
                await bulk.load(store, synthetic_dataset(*counts, seed=args.seed))
            else:
                print(f"# the store in {folder} as it is (migrated), not seeded again")
            rng = random.Random(13)
            sizes = await store.read(NETWORK_SIZES)
            median = statistics.median(r["members"] for r in sizes)
            near = [r["id"] for r in sizes if abs(r["members"] - median) <= median * 0.2]
            pros = [r["id"] for r in await store.read(BUSY)]
            rows = [] if args.only == "stats" else await latencies(store, [
                ("Professional.referralFunnel (target p95 50)", PRO_FUNNEL,
                 lambda: {"id": rng.choice(pros)}),
                (f"Network.referralFunnel, ~{median:.0f} members (target p95 50)", NET_FUNNEL,
                 lambda: {"id": rng.choice(near)}),
                (f"Network.reciprocityMatrix, ~{median:.0f} members", MATRIX,
                 lambda: {"id": rng.choice(near)}),
                (f"Network.reciprocityTrend(months: 12), ~{median:.0f} members", TREND,
                 lambda: {"id": rng.choice(near)}),
            ], args.rounds)
            rows += await latencies(store, [
                ("referralStats(groupBy: [MONTH, TRADE]), all referrals (target 500)", STATS,
                 dict),
            ], args.stats_rounds)
            print_latencies("measurement", rows)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--stats-rounds", type=int, default=20)
    parser.add_argument("--only", choices=["stats"], help="measure referralStats only")
    parser.add_argument("--data-dir", type=Path, help="keep the store there; a later run with "
                        "the same folder measures it without seeding it again")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
