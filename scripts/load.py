"""Mixed read and write load against a running service, with its figures.

Usage::

    python scripts/load.py                      # 50 clients, 60 s, demo network, embedded store
    python scripts/load.py --clients 20 --seconds 30 --think 0.05
    python scripts/load.py --think 0 --workers 1  # closed loop, one service process

It starts ``referral-graph serve --demo`` on a free loopback port with a fresh data folder, mints
tokens with the service's secret, and runs the clients for the given time. Each client acts as one
customer and one professional of the demo network and loops over a weighted mix:

- customer reads itself: its jobs and referrals with their professionals (35%);
- professional reads itself: a page of 20 referrals with referrer and referee, its jobs (25%);
- directory search: professionals of a trade in an area (15%);
- professional records a job (10%);
- referral round trip: the customer refers the professional to another customer, the
  professional accepts it and then declines it (15%; three writes).

Between two requests a client waits ``--think`` seconds (exponentially distributed), as a person
in an app does; 0 makes a closed loop. It prints requests/s, p50, p95, p99 and errors (HTTP
status other than 200, GraphQL errors, or errors in a mutation's payload), overall and per kind.
Traffic goes to 127.0.0.1 only, and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth import mint  # noqa: E402
from app.settings import load_settings  # noqa: E402
from seeds.demo import demo_dataset  # noqa: E402

CUSTOMER_READ = """query($id: ID!) { customer(id: $id) { name displayName
  jobs(first: 10) { nodes { trade rating completedAt professional { name trades } } }
  referralsMade(first: 10) { totalCount nodes { status professional { name } } } } }"""
PROFESSIONAL_READ = """query($id: ID!) { professional(id: $id) { name trades networks { name }
  referralsReceived(first: 20) { totalCount nodes { status createdAt
    referrer { ... on Customer { displayName } ... on Professional { name } }
    referee { displayName } } }
  jobs(first: 10) { nodes { rating customer { name } } } } }"""
DIRECTORY = """query($trade: String, $area: String) {
  professionals(trade: $trade, area: $area, first: 20) { totalCount nodes { id name trades } } }"""
RECORD_JOB = """mutation($input: RecordJobInput!) { recordJob(input: $input) {
  job { id } errors { code message } } }"""
CREATE_REFERRAL = """mutation($input: CreateReferralInput!) { createReferral(input: $input) {
  referral { id status } errors { code message } } }"""
UPDATE_STATUS = """mutation($input: UpdateReferralStatusInput!) {
  updateReferralStatus(input: $input) { referral { id status } errors { code message } } }"""


class Connection:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams.

    The load generator shares the machine's two cores with the service and its store; a full
    HTTP client library spends more CPU per request than the service itself, and the figures
    would then measure the generator. This one writes a POST and reads a Content-Length body.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        reused = self.writer is not None and not self.writer.is_closing()
        try:
            return await self._post(path, body, headers)
        except (ConnectionError, asyncio.IncompleteReadError):
            # The server may close an idle keep-alive connection just as a request goes out;
            # like any HTTP client, send again once on a fresh connection.
            if not reused:
                raise
            self.close()
            self.writer = None
            return await self._post(path, body, headers)

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{self.port}",
                "content-type: application/json", f"content-length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            self.writer = None
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []

    def record(self, kind: str, ms: float, error: str | None) -> None:
        self.latency[kind].append(ms)
        if error:
            self.errors[kind] += 1
            if len(self.samples) < 5:
                self.samples.append(f"{kind}: {error[:200]}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


class Client:
    def __init__(self, http: Connection, stats: Stats, customer: str, professional: str,
                 others: list[str], trades: list[str], areas: list[str], settings: Any,
                 think: float, seed: int) -> None:
        self.http, self.stats = http, stats
        self.customer, self.professional, self.others = customer, professional, others
        self.trades, self.areas = trades, areas
        self.rng = random.Random(seed)
        self.think = think
        self.as_customer = {"authorization": "Bearer " + mint(settings, "customer", customer,
                                                                ttl=3600)}
        self.as_professional = {"authorization": "Bearer " + mint(
            settings, "professional", professional, ttl=3600)}

    async def call(self, kind: str, query: str, variables: dict[str, Any],
                   headers: dict[str, str]) -> dict[str, Any] | None:
        start = time.perf_counter()
        error = None
        body: dict[str, Any] | None = None
        try:
            status, raw = await self.http.post(
                "/graphql", json.dumps({"query": query, "variables": variables}).encode(),
                headers)
            if status != 200:
                error = f"HTTP {status}: {raw.decode(errors='replace')}"
            else:
                body = json.loads(raw)
                if body.get("errors"):
                    error = str(body["errors"])
                else:
                    for value in body["data"].values():
                        if isinstance(value, dict) and value.get("errors"):
                            error = str(value["errors"])
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.stats.record(kind, (time.perf_counter() - start) * 1000, error)
        return None if error else body

    async def pause(self) -> None:
        if self.think > 0:
            await asyncio.sleep(self.rng.expovariate(1 / self.think))

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            await self.call("customer read", CUSTOMER_READ, {"id": self.customer},
                            self.as_customer)
        elif roll < 0.60:
            await self.call("professional read", PROFESSIONAL_READ, {"id": self.professional},
                            self.as_professional)
        elif roll < 0.75:
            await self.call("directory", DIRECTORY, {"trade": self.rng.choice(self.trades),
                                                     "area": self.rng.choice(self.areas)},
                            self.as_customer)
        elif roll < 0.85:
            await self.call("record job", RECORD_JOB, {"input": {
                "customerId": self.rng.choice(self.others),
                "professionalId": self.professional,
                "completedAt": datetime.now(UTC).isoformat(),
                "rating": self.rng.randint(1, 5), "value": round(self.rng.uniform(50, 900), 2),
            }}, self.as_professional)
        else:
            await self.referral_round_trip()

    async def referral_round_trip(self) -> None:
        referee = self.rng.choice([o for o in self.others if o != self.customer])
        created = await self.call("create referral", CREATE_REFERRAL, {"input": {
            "referrerId": self.customer, "professionalId": self.professional,
            "refereeId": referee, "note": "load test"}}, self.as_customer)
        if created is None:
            return
        rid = created["data"]["createReferral"]["referral"]["id"]
        for status in ("ACCEPTED", "DECLINED"):
            await self.pause()
            await self.call("update status", UPDATE_STATUS, {"input": {"id": rid,
                                                                       "status": status}},
                            self.as_professional)

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            await self.step()
            await self.pause()


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
STORE_MODULE = b"graph._embedded_main"


def _cpu_seconds(root: int) -> dict[str, float]:
    """CPU time (user + system) so far of the service under ``root``: its service processes
    and its store, apart; and of this load generator. Linux only (``/proc``); empty elsewhere.

    The machine is shared, so requests/s move with whatever else runs; CPU time per request
    does not, and says how many requests the two cores could serve if the service had them."""
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    parents: dict[int, int] = {}
    stats: dict[int, tuple[float, bool]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            store = STORE_MODULE in (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        stats[int(entry.name)] = ((int(fields[11]) + int(fields[12])) / TICKS, store)

    def under_root(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    totals = {"service": 0.0, "store": 0.0}
    for pid, (seconds, store) in stats.items():
        if under_root(pid):
            totals["store" if store else "service"] += seconds
    usage = os.times()
    totals["load generator"] = usage.user + usage.system
    return totals


async def drive(args: argparse.Namespace, port: int, settings: Any) -> Stats:
    demo = demo_dataset()
    customers = [c["id"] for c in demo.customers]
    professionals = [p["id"] for p in demo.professionals]
    trades = sorted({t for p in demo.professionals for t in p["trades"]})
    areas = sorted({p["area"] for p in demo.professionals if p["area"]})
    stats = Stats()
    connections = [Connection(port) for _ in range(args.clients)]
    try:
        clients = [
            Client(connections[i], stats, customers[i % len(customers)],
                   professionals[i % len(professionals)], customers, trades, areas, settings,
                   args.think, seed=i)
            for i in range(args.clients)
        ]
        # A short warm-up (not counted) so that caches and connection pools are in place.
        warm = Stats()
        for c in clients:
            c.stats = warm
        await asyncio.gather(*(c.run(time.monotonic() + 3) for c in clients))
        for c in clients:
            c.stats = stats
        started = time.monotonic()
        cpu_before = _cpu_seconds(args.serve_pid)
        await asyncio.gather(*(c.run(started + args.seconds) for c in clients))
        stats.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
        cpu_after = _cpu_seconds(args.serve_pid)
        stats.cpu = {k: cpu_after[k] - cpu_before.get(k, 0.0)  # type: ignore[attr-defined]
                     for k in cpu_after}
    finally:
        for connection in connections:
            connection.close()
    return stats


def report(stats: Stats, args: argparse.Namespace) -> None:
    elapsed = stats.elapsed  # type: ignore[attr-defined]
    everything = [ms for values in stats.latency.values() for ms in values]
    total_errors = sum(stats.errors.values())
    workers = args.workers if args.workers is not None else "default"
    print(f"# load: {args.clients} clients, {args.seconds:g} s, think {args.think:g} s, "
          f"demo network, embedded store, workers {workers}; {os.cpu_count()} cores; "
          f"load average before {args.load_before}, after {_load_average()}")
    print()
    print("| kind | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in sorted(stats.latency):
        values = stats.latency[kind]
        print(f"| {kind} | {len(values)} | {len(values) / elapsed:.1f} | {pct(values, .5):.1f} "
              f"| {pct(values, .95):.1f} | {pct(values, .99):.1f} | {stats.errors[kind]} |")
    print(f"| **all** | {len(everything)} | {len(everything) / elapsed:.1f} | "
          f"{pct(everything, .5):.1f} | {pct(everything, .95):.1f} | "
          f"{pct(everything, .99):.1f} | {total_errors} |")
    cpu = getattr(stats, "cpu", {})
    if cpu and everything:
        per = {k: v * 1000 / len(everything) for k, v in cpu.items()}
        total = sum(per.values())
        print()
        print("CPU ms per request: " + ", ".join(f"{k} {v:.1f}" for k, v in per.items())
              + f"; in all {total:.1f}, so two free cores would serve about "
              f"{2000 / total:.0f} req/s at most")
    for sample in stats.samples:
        print(f"error sample: {sample}")


def _load_average() -> str:
    """The machine's 1-minute load average: how busy it was besides this run."""
    return f"{os.getloadavg()[0]:.2f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--think", type=float, default=0.5,
                   help="mean pause between a client's requests, seconds (0: closed loop)")
    p.add_argument("--workers", type=int, default=None,
                   help="service processes (default: serve's own, RG_WORKERS=0)")
    args = p.parse_args()
    args.load_before = _load_average()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "RG_"))}
        # The clients stand for people on many addresses, but all come from loopback here: the
        # per-address limit would count them as one; each principal keeps its own limit.
        env.update(RG_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
                   RG_RATE_LIMIT_ADDRESS="10000000", RG_RATE_BURST_ADDRESS="1000000",
                   RG_ANALYTICS_REFRESH_AFTER=os.environ.get("RG_ANALYTICS_REFRESH_AFTER", "1000"))
        log = open(Path(tmp) / "serve.log", "wb")  # noqa: SIM115
        serve = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port),
             "--data-dir", str(data_dir),
             *([] if args.workers is None else ["--workers", str(args.workers)])],
            env=env, stdout=log, stderr=log,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or serve.poll() is not None:
                    print((Path(tmp) / "serve.log").read_text()[-2000:], file=sys.stderr)
                    return 1
                time.sleep(0.5)
            settings = load_settings({"RG_DATA_DIR": str(data_dir)})
            args.serve_pid = serve.pid
            stats = asyncio.run(drive(args, port, settings))
            report(stats, args)
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=60)
            log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
