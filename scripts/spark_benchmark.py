"""The analytics refresh on each engine, networkx and Spark, side by side.

For each size (``--sizes small,medium``) the synthetic network is loaded into a fresh embedded
store, then the refresh runs with each engine in turn; printed per engine: the seconds of each
phase (read: the projection out of the store, staged as Parquet for Spark; compute; write: the
results back), the Spark session's start, the total, PageRank's rounds, the peak resident
memory of the service-side process, and the Spark driver JVM's (``local[2]``: its ``VmHWM``
from ``/proc`` of the java child). The network is generated and loaded in a child process, and
each engine's refresh runs in a new child process of its own, so that each peak is that
refresh's alone. After each refresh the stored results are read back, and the two engines'
are compared (:mod:`graph.comparison`): reputations within 1e-6, trade pairs and candidate lists
exactly, risk findings' signals, parties and strengths within 1e-9.

Run: ``python scripts/spark_benchmark.py --sizes small`` (needs the spark extra and Java 17).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import open_embedded_at, peak_rss_mib

from graph import analytics, bulk, comparison
from graph.embedded import BoltAddress
from graph.store import connect
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


def _load(address: BoltAddress, size: str) -> None:
    """In a child process: generate the network and load it (so that the generator's memory is
    no part of the refresh's figures)."""

    async def work() -> None:
        store = connect(address.uri, address.user, address.password, address.database)
        try:
            await bulk.load(store, synthetic_dataset(*SIZES[size], seed=1))
        finally:
            await store.close()

    asyncio.run(work())


def _refresh(address: BoltAddress, name: str, staging: str, out: Any) -> None:
    """In a child process of its own, as a service-side batch runs: one engine's refresh, its
    phases, and the process's (and its Spark driver JVM's) peak resident memory."""

    async def work() -> dict[str, float | None]:
        store = connect(address.uri, address.user, address.password, address.database)
        try:
            engine = analytics.AnalyticsEngine(name, "local[2]", staging)
            phases: dict[str, float] = {}
            started = time.perf_counter()
            await analytics._compute(store, CURATED, engine, phases)
            phases["total"] = time.perf_counter() - started
            return {**phases, "rss": peak_rss_mib(),
                    "jvm": jvm_peak_mib() if name == "spark" else None}
        finally:
            await store.close()

    out.put(asyncio.run(work()))


def in_child(target: Any, *args: Any) -> Any:
    """Run ``target(*args, queue)`` in a new (spawned) process and return what it put."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def _load_in_child(address: BoltAddress, size: str, out: Any) -> None:
    _load(address, size)
    out.put(None)


async def measure(size: str, engines: list[str],
                  staging: Path) -> tuple[int, dict, dict[str, comparison.Stored]]:
    figures: dict[str, dict[str, float | None]] = {}
    results: dict[str, comparison.Stored] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server, store, address = await open_embedded_at(Path(tmp) / "store")
        try:
            await asyncio.to_thread(in_child, _load_in_child, address, size)
            edges = (await store.read(EDGES))[0]["n"] + (await store.read(REFERRALS))[0]["n"]
            for name in engines:
                figures[name] = await asyncio.to_thread(in_child, _refresh, address, name,
                                                        str(staging))
                print(f"# {size} {name}: {figures[name]['total']:.1f} s", file=sys.stderr,
                      flush=True)
                # What this engine stored, before the next one writes over it.
                results[name] = await comparison.stored(store)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)
    return edges, figures, results


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


def agreement(results: dict[str, comparison.Stored]) -> None:
    """The engines' results side by side (graph.comparison): 0 differences when they agree."""
    if len(results) < 2:
        return
    (first, a), (second, b) = list(results.items())[:2]
    found = comparison.differences(a, b)
    verdict = "agree" if comparison.agree(found) else "DIFFER"
    print(f"\n{first} against {second}: the engines {verdict}\n")
    print("| result | |")
    print("|---|---:|")
    for label, value in found.items():
        shown = f"{value:.2e}" if isinstance(value, float) else f"{value:,}"
        print(f"| {label} | {shown} |")


async def main(args: argparse.Namespace) -> None:
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; Spark on local[2]")
    with tempfile.TemporaryDirectory() as staging:
        for size in args.sizes.split(","):
            edges, figures, results = await measure(size, args.engines.split(","),
                                                    Path(staging))
            table(size, edges, figures)
            agreement(results)


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
