"""The analytics refresh on each engine, networkx and Spark, side by side.

For each size (``--sizes small,medium``) the synthetic network is loaded into a fresh embedded
store, then the refresh runs with each engine in turn; printed per engine: the seconds of each
phase (read: the projection out of the store, staged as Parquet for Spark; compute; write: the
results back), the Spark session's start, the total, PageRank's rounds, the peak resident
memory of this (the service-side) process, and the Spark driver JVM's (``local[2]``: its
``VmHWM`` from ``/proc`` of the java child). The service-side peak is the process's high-water
mark so far, so the engines run in the order given (``--engines``), networkx first by default:
Spark's column shows whether staging raised it.

Run: ``python scripts/spark_benchmark.py --sizes small`` (needs the spark extra and Java 17).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import open_embedded, peak_rss_mib

from graph import analytics, bulk
from seeds.complementary_trades import CURATED
from seeds.synthetic import SIZES, synthetic_dataset

EDGES = """
MATCH (:Customer)-[:BOOKED]->(j:Job)-[:DONE_BY]->(:Professional) WHERE j.confirmed = true
RETURN count(j) AS n
"""
REFERRALS = "MATCH (r:Referral)-[:FOR]->(:Professional) RETURN count(r) AS n"


def jvm_peak_mib() -> float | None:
    """The peak resident memory of this process's java children (the Spark driver)."""
    found = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() != str(os.getpid()) or "java" not in fields.get(
                "Name", ""):
            continue
        peak = int(fields["VmHWM"].split()[0]) / 1024
        found = max(found or 0.0, peak)
    return found


async def measure(size: str, engines: list[str], staging: Path) -> tuple[int, dict]:
    figures: dict[str, dict[str, float | None]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server, store = await open_embedded(Path(tmp) / "store")
        try:
            await bulk.load(store, synthetic_dataset(*SIZES[size], seed=1))
            edges = (await store.read(EDGES))[0]["n"] + (await store.read(REFERRALS))[0]["n"]
            for name in engines:
                engine = analytics.AnalyticsEngine(name, "local[2]", str(staging))
                phases: dict[str, float] = {}
                started = time.perf_counter()
                await analytics._compute(store, CURATED, engine, phases)
                phases["total"] = time.perf_counter() - started
                figures[name] = {**phases, "rss": peak_rss_mib(),
                                 "jvm": jvm_peak_mib() if name == "spark" else None}
                print(f"# {size} {name}: {phases['total']:.1f} s", file=sys.stderr, flush=True)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)
    return edges, figures


def cell(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{unit}"


def table(size: str, edges: int, figures: dict) -> None:
    engines = list(figures)
    print(f"\n{size}: {SIZES[size]} (professionals, customers, jobs, referrals); "
          f"{edges:,} edges (confirmed hires and referrals)\n")
    print("| | " + " | ".join(engines) + " |")
    print("|---|" + "---:|" * len(engines))
    rows = [("Spark session start, s", "session"), ("read (stage), s", "read"),
            ("compute, s", "compute"), ("write back, s", "write"), ("total, s", "total"),
            ("PageRank rounds", "iterations"), ("peak RSS, service process, MiB", "rss"),
            ("peak RSS, Spark driver JVM, MiB", "jvm")]
    for label, key in rows:
        print(f"| {label} | " + " | ".join(cell(figures[e].get(key)) for e in engines) + " |")


async def main(args: argparse.Namespace) -> None:
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; Spark on local[2]")
    with tempfile.TemporaryDirectory() as staging:
        for size in args.sizes.split(","):
            edges, figures = await measure(size, args.engines.split(","), Path(staging))
            table(size, edges, figures)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="small",
                   help=f"comma-separated, of {', '.join(SIZES)} (default small)")
    p.add_argument("--engines", default="networkx,spark",
                   help="comma-separated, in the order run (default networkx,spark)")
    args = p.parse_args()
    unknown = [s for s in args.sizes.split(",") if s not in SIZES]
    if unknown:
        p.error(f"unknown sizes: {', '.join(unknown)}")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
