"""Export and import speed, each against what it should be measured by.

Usage::

    python scripts/exchange_benchmark.py --size medium     # 10k pros, 50k customers, ...
    python scripts/exchange_benchmark.py --size small      # for a quick look

It generates the synthetic network, starts two embedded stores in temporary folders, and prints:

- import: ``graph.bulk.load`` of the data set (what ``referral-graph seed`` runs, without the
  analytics refresh) into the first store, against ``referral-graph import`` of the same data
  written as a bundle (reading the file, checking every row, loading it; without the analytics
  refresh either) into the second, and their ratio (target: within 1.3x);
- export: ``GET /export/referrals.csv`` and ``.jsonl`` of every referral, as an admin, through
  the whole app in process (token check, keyset pages, rows, streaming), in rows per second
  (target: >= 20k rows/s), and the bundle export of ``referral-graph export``.

Figures only; nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from app import collector
from app.auth import mint
from app.main import create_app
from app.settings import Settings
from graph import bulk, exchange
from graph.embedded import EmbeddedServer
from graph.migrations import migrate
from graph.store import Store, connect
from seeds.synthetic import SIZES, synthetic_dataset

SECRET = "exchange-benchmark-secret-0123456789abcdef"


async def open_store(folder: Path) -> tuple[EmbeddedServer, Store]:
    server = EmbeddedServer(folder)
    address = await asyncio.to_thread(server.start)
    store = connect(address.uri, address.user, address.password, address.database)
    await store.ensure_schema()
    await migrate(store)
    return server, store


async def import_bundle(store: Store, path: Path) -> exchange.Plan:
    """What ``referral-graph import`` does with a bundle, but the analytics refresh."""
    if not await exchange.is_empty(store):
        raise SystemExit("the import's store is not empty")
    with path.open(encoding="utf-8") as handle:
        plan = exchange.check_bundle(exchange.read_lines(handle))
    await exchange.load(store, plan, into_empty=True)
    return plan


async def stream(http: httpx.AsyncClient, path: str, token: str) -> tuple[int, float]:
    """(data lines, seconds) of one streamed export."""
    start = time.perf_counter()
    lines = 0
    async with http.stream("GET", path, headers={"authorization": f"Bearer {token}"}) as r:
        r.raise_for_status()
        async for chunk in r.aiter_bytes():
            lines += chunk.count(b"\n")
    return lines, time.perf_counter() - start


async def main(args: argparse.Namespace) -> None:
    pros, customers, jobs, referrals = SIZES[args.size]
    started = time.perf_counter()
    data = synthetic_dataset(pros, customers, jobs, referrals, seed=args.seed)
    print(f"# generated {args.size} ({pros} professionals, {customers} customers, {jobs} jobs, "
          f"{referrals} referrals) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="rg-exchange-") as tmp:
        root = Path(tmp)
        bundle = root / "bundle.jsonl"
        with bundle.open("w", encoding="utf-8") as out:
            for row in exchange.dataset_rows(data):
                out.write(exchange.dumps(row))
        (seeded, first), (imported, second) = (await open_store(root / "a"),
                                               await open_store(root / "b"))
        try:
            start = time.perf_counter()
            await bulk.load(first, data)
            seed_s = time.perf_counter() - start
            print("| step | rows | seconds | rows/s |")
            print("|---|---:|---:|---:|")
            if not args.export_only:
                start = time.perf_counter()
                plan = await import_bundle(second, bundle)
                import_s = time.perf_counter() - start
                print(f"| seed load (graph.bulk) | {plan.total} | {seed_s:.1f} | "
                      f"{plan.total / seed_s:,.0f} |")
                print(f"| import of the bundle (read, check, load) | {plan.total} | "
                      f"{import_s:.1f} | {plan.total / import_s:,.0f} |")
                print(f"| import / seed | | {import_s / seed_s:.2f}x | |")

            # The service's process holds no dataset of its own, and sets the collector as
            # ``serve`` does.
            del data
            settings = Settings(auth_secret=SECRET)
            app = create_app(settings, store=first)
            collector.tune()
            token = mint(settings, "admin", "admin:bench")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         timeout=None) as http:
                for _ in range(args.rounds):
                    for fmt in ("csv", "jsonl"):
                        lines, seconds = await stream(http, f"/export/referrals.{fmt}", token)
                        rows = lines - (1 if fmt == "csv" else 0)
                        print(f"| GET /export/referrals.{fmt} | {rows} | {seconds:.2f} | "
                              f"{rows / seconds:,.0f} |")
            if not args.export_only:
                start = time.perf_counter()
                count = sum([1 async for _ in exchange.bundle_rows(second)]) - 1
                seconds = time.perf_counter() - start
                print(f"| referral-graph export (bundle) | {count} | {seconds:.1f} | "
                      f"{count / seconds:,.0f} |")
        finally:
            for store in (first, second):
                await store.close()
            for server in (seeded, imported):
                await asyncio.to_thread(server.stop)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="medium")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2, help="exports of each format (default 2)")
    p.add_argument("--export-only", action="store_true",
                   help="the HTTP exports alone (no import, no bundle export)")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
