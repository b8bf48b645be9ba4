"""This service against the Neo4j GraphQL Library on one store, over HTTP, side by side.

Usage::

    python scripts/peer_benchmark.py --size small              # a quick check
    python scripts/peer_benchmark.py --size medium --seconds 20
    python scripts/peer_benchmark.py --size small --no-peer    # this service only
    python scripts/peer_benchmark.py --data-dir DIR            # a store seeded before

It seeds one embedded store with the synthetic network, serves it twice on loopback:

- this service: ``referral-graph serve`` (uvicorn, ``--workers`` processes, one by default)
  with an admin token and the rate limits lifted, since every client comes from one address;
- the peer: ``@neo4j/graphql`` 7 under ``@apollo/server`` (``scripts/peer/``), installed with npm
  into a temporary folder, type definitions mapped onto our labels and relationship types;

then checks that the two answer the equal queries with the same rows (it stops if they differ),
and measures both with one load generator: closed-loop httpx clients, each on its own
connection, a warm-up and then a fixed duration, at 1 and 10 clients. It prints throughput, p50
and p95 per read and the ratio of this service to the peer. Figures only; nothing asserts a
target. ``scripts/benchmark.py`` runs the same comparison after its reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth import mint  # noqa: E402
from app.settings import load_settings  # noqa: E402
from graph import bulk  # noqa: E402
from graph.embedded import BoltAddress, EmbeddedServer  # noqa: E402
from graph.migrations import migrate  # noqa: E402
from graph.store import Store, connect  # noqa: E402
from seeds.synthetic import SIZES, synthetic_dataset  # noqa: E402

PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_PACKAGES = ["@neo4j/graphql@7", "@apollo/server", "graphql", "neo4j-driver"]
CLIENTS = (1, 10)
SECRET = "peer-benchmark-secret-" + "x" * 32
SAMPLE_PROFESSIONALS = "MATCH (p:Professional) RETURN p.id AS id LIMIT 2000"

# Each party of a referral is selected the same way on both sides; the peer's relationships
# are lists (the library's one-to-one relationships are deprecated), holding one node each.
PARTY = "... on Customer { id name } ... on Professional { id name }"


@dataclass
class PeerRead:
    """One question asked of both servers, and how to bring each answer to the same rows."""

    name: str
    ours: str
    peer: str
    params: Callable[[random.Random, list[str]], dict[str, Any]]
    ours_rows: Callable[[dict[str, Any]], Any]
    peer_rows: Callable[[dict[str, Any]], Any]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _one(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    if len(nodes) != 1:
        raise AssertionError(f"expected one related node, got {nodes!r}")
    return nodes[0]


def _party(node: dict[str, Any]) -> tuple[str, str]:
    return node["id"], node["name"]


def _ours_professional(data: dict[str, Any]) -> Any:
    p = data["professional"]
    page = p["referralsReceived"]
    return (p["id"], p["name"], sorted(p["trades"]), page["totalCount"], [
        (r["id"], r["status"], _party(r["referrer"]), _party(r["referee"]))
        for r in page["nodes"]])


def _peer_professional(data: dict[str, Any]) -> Any:
    (p,) = data["professionals"]
    total = p["referralsReceivedConnection"]["totalCount"]
    return (p["id"], p["name"], sorted(p["trades"]), total, [
        (r["id"], r["status"], _party(_one(r["referrer"])), _party(_one(r["referee"])))
        for r in p["referralsReceived"]])


def _ours_newest(data: dict[str, Any]) -> Any:
    return [(r["id"], r["status"], _at(r["createdAt"]), _party(r["referrer"]),
             _party(r["professional"]), _party(r["referee"]))
            for r in data["referrals"]["nodes"]]


def _peer_newest(data: dict[str, Any]) -> Any:
    return [(r["id"], r["status"], _at(r["createdAt"]), _party(_one(r["referrer"])),
             _party(_one(r["professional"])), _party(_one(r["referee"])))
            for r in data["referrals"]]


READS = [
    PeerRead(
        "professional + 20 referrals received + referrer and referee",
        f"""query($id: ID!) {{ professional(id: $id) {{ id name trades
            referralsReceived(first: 20) {{ totalCount nodes {{ id status
              referrer {{ {PARTY} }} referee {{ id name }} }} }} }} }}""",
        f"""query($id: ID!) {{ professionals(where: {{ id: {{ eq: $id }} }}) {{ id name trades
            referralsReceivedConnection {{ totalCount }}
            referralsReceived(limit: 20, sort: [{{ createdAt: DESC }}, {{ id: DESC }}]) {{
              id status referrer {{ {PARTY} }} referee {{ id name }} }} }} }}""",
        lambda rng, pros: {"id": rng.choice(pros)},
        _ours_professional,
        _peer_professional,
    ),
    PeerRead(
        "newest 20 referrals + their three parties",
        f"""query {{ referrals(first: 20) {{ nodes {{ id status createdAt
            referrer {{ {PARTY} }} professional {{ id name }} referee {{ id name }} }} }} }}""",
        f"""query {{ referrals(limit: 20, sort: [{{ createdAt: DESC }}, {{ id: DESC }}]) {{
            id status createdAt referrer {{ {PARTY} }} professional {{ id name }}
            referee {{ id name }} }} }}""",
        lambda rng, pros: {},
        _ours_newest,
        _peer_newest,
    ),
]


@dataclass
class Target:
    """A GraphQL endpoint on loopback and the query text it is asked for each read."""

    name: str
    url: str
    headers: dict[str, str]
    side: str  # "ours" or "peer"
    pid: int | None = None  # the server's process, whose CPU time a run reads

    def query(self, read: PeerRead) -> str:
        return read.ours if self.side == "ours" else read.peer

    def rows(self, read: PeerRead, data: dict[str, Any]) -> Any:
        return read.ours_rows(data) if self.side == "ours" else read.peer_rows(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def ask(http: httpx.AsyncClient, target: Target, read: PeerRead,
              params: dict[str, Any]) -> dict[str, Any]:
    r = await http.post(target.url, json={"query": target.query(read), "variables": params},
                        headers=target.headers)
    body = r.json() if r.headers.get("content-type", "").startswith("application/") else {}
    if r.status_code != 200 or "errors" in body or "data" not in body:
        raise RuntimeError(f"{target.name}: HTTP {r.status_code}: {r.text[:500]}")
    data: dict[str, Any] = body["data"]
    return data


# -- the servers -----------------------------------------------------------------------------
def _wait_ready(proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path,
                what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise SystemExit(f"peer benchmark: {what} did not start (log above)")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _store_env(address: BoltAddress) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "RG_"))}
    env.update(NEO4J_URI=address.uri, NEO4J_USER=address.user,
               NEO4J_PASSWORD=address.password, NEO4J_DATABASE=address.database)
    return env


@contextmanager
def serve_ours(address: BoltAddress, tmp: Path, workers: int = 1) -> Iterator[Target]:
    """``referral-graph serve`` with ``workers`` processes on the store, on a free loopback port,
    and an admin token."""
    port = free_port()
    lifted = str(10_000_000)  # the settings' upper bound: loopback clients share one address
    service_env = {"RG_AUTH_SECRET": SECRET, "RG_LOG_LEVEL": "WARNING",
                   "RG_DATA_DIR": str(tmp / "service-data"), "RG_PORT": str(port),
                   "RG_RATE_LIMIT": lifted, "RG_RATE_BURST": lifted,
                   "RG_RATE_LIMIT_ADDRESS": lifted, "RG_RATE_BURST_ADDRESS": lifted,
                   "RG_WORKERS": str(workers)}
    env = _store_env(address) | service_env | {"PYTHONPATH": str(ROOT)}
    log = tmp / "service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        _wait_ready(proc, lambda: httpx.get(f"http://127.0.0.1:{port}/readyz",
                                            timeout=2).status_code == 200, log, "this service")
        settings = load_settings(_store_env(address) | service_env)
        token = mint(settings, "admin", "admin:benchmark", ttl=min(24 * 3600,
                                                                    settings.auth_max_ttl))
        yield Target("this service", f"http://127.0.0.1:{port}/graphql",
                     {"authorization": f"Bearer {token}"}, "ours", proc.pid)
    finally:
        _stop(proc)


def npm_missing() -> str | None:
    """Why the peer cannot run here, or None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH"
    return None


@contextmanager
def serve_peer(address: BoltAddress, tmp: Path) -> Iterator[Target]:
    """The peer from ``scripts/peer/``, its packages installed with npm into ``tmp``."""
    folder = tmp / "peer"
    shutil.copytree(PEER_DIR, folder)
    started = time.perf_counter()
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PEER_PACKAGES],
        cwd=folder, capture_output=True, text=True)
    if install.returncode != 0:
        print(install.stdout[-2000:], install.stderr[-2000:], file=sys.stderr)
        raise SystemExit("peer benchmark: npm install failed (output above); --no-peer skips it")
    versions = json.loads(subprocess.run(
        ["npm", "ls", "--json", "--depth=0"], cwd=folder, capture_output=True, text=True,
        check=True).stdout)["dependencies"]
    print(f"# peer: npm install {time.perf_counter() - started:.0f} s; node "
          f"{subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}"
          ", " + ", ".join(f"{name} {info['version']}" for name, info in versions.items()))
    port = free_port()
    env = _store_env(address) | {"PEER_PORT": str(port), "NODE_ENV": "production"}
    log = tmp / "peer.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["node", "server.mjs"], cwd=folder, env=env, stdout=out,
                                stderr=out)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(proc, lambda: httpx.post(url, json={"query": "{ __typename }"},
                                             timeout=2).status_code == 200, log, "the peer")
        yield Target("@neo4j/graphql", url, {}, "peer", proc.pid)
    finally:
        _stop(proc)


# -- same rows ---------------------------------------------------------------------------------
async def check_same_rows(targets: list[Target], pros: list[str], samples: int) -> None:
    """Both servers answer every sampled question with identical rows, or the run stops."""
    rng = random.Random(3)
    async with httpx.AsyncClient(timeout=60) as http:
        for read in READS:
            checked = referrals = 0
            for _ in range(samples if read.params(rng, pros) else 1):
                params = read.params(rng, pros)
                answers = [t.rows(read, await ask(http, t, read, params)) for t in targets]
                referrals += len(answers[0][-1] if isinstance(answers[0], tuple) else answers[0])
                if any(a != answers[0] for a in answers[1:]):
                    lines = [f"{t.name}: {a!r}"[:1500] for t, a in zip(targets, answers,
                                                                      strict=True)]
                    raise SystemExit(f"peer benchmark: the answers differ for {read.name} "
                                     f"{params}:\n" + "\n".join(lines))
                checked += 1
            if not referrals:
                raise SystemExit(f"peer benchmark: no referral to compare for {read.name}")
            print(f"# same rows: {read.name} ({checked} question{'s' * (checked > 1)}, "
                  f"{referrals} referrals)")


# -- the load generator ------------------------------------------------------------------------
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(*roots: int | None) -> list[float] | None:
    """CPU time (user + system) so far of each root process with its live descendants (a
    server's workers), from ``/proc``; None where there is no ``/proc``. On a shared machine
    requests/s move with whatever else runs; CPU time per request hardly does."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS

    def root_of(pid: int) -> int | None:
        while pid > 1:
            if pid in roots:
                return pid
            pid = parents.get(pid, 0)
        return None

    totals = dict.fromkeys((r for r in roots if r is not None), 0.0)
    for pid, seconds in used.items():
        if (root := root_of(pid)) is not None:
            totals[root] += seconds
    return [totals.get(r, 0.0) if r is not None else 0.0 for r in roots]


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu: list[float] | None = None  # CPU seconds of the server and of the store, measured

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def cpu_ms(self) -> str:
        """CPU milliseconds per answered request: the server's, the store's."""
        if self.cpu is None or not self.requests:
            return "n/a"
        return ", ".join(f"{1000 * c / self.requests:.2f}" for c in self.cpu)


async def load(target: Target, read: PeerRead, pros: list[str], clients: int,
               seconds: float, warmup: float, store_pid: int | None = None) -> Run:
    """Closed loop: each client sends its next request when the last is answered."""
    latencies: list[float] = []
    errors: list[str] = []

    async def client(index: int, until: float, record: bool) -> None:
        rng = random.Random(1000 + index)  # the same questions for both servers
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1)) as http:
            while time.perf_counter() < until:
                params = read.params(rng, pros)
                start = time.perf_counter()
                try:
                    await ask(http, target, read, params)
                except (RuntimeError, httpx.HTTPError) as exc:
                    errors.append(str(exc))
                    continue
                if record:
                    latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(client(i, time.perf_counter() + warmup, False)
                           for i in range(clients)))
    errors.clear()
    before = cpu_seconds(target.pid, store_pid)
    started = time.perf_counter()
    await asyncio.gather(*(client(i, started + seconds, True) for i in range(clients)))
    elapsed = time.perf_counter() - started
    after = cpu_seconds(target.pid, store_pid)
    used = None if before is None or after is None else [
        b - a for a, b in zip(before, after, strict=True)]
    if errors:
        print(f"# {target.name}, {read.name}, {clients} clients: {len(errors)} errors, "
              f"first: {errors[0][:300]}", file=sys.stderr)
    return Run(len(latencies), elapsed, latencies, len(errors), used)


async def measure(targets: list[Target], pros: list[str], seconds: float,
                  warmup: float, store_pid: int | None = None) -> None:
    print()
    names = [t.name for t in targets]
    head = "| read | clients | " + " | ".join(
        f"{n} req/s | {n} p50 ms | {n} p95 ms | {n} CPU ms/request: server, store"
        for n in names)
    if len(targets) == 2:
        head += " | throughput ratio | p95 ratio"
    print(head + " |")
    print("|---|---:|" + "---:|" * (4 * len(targets) + (2 if len(targets) == 2 else 0)))
    for read in READS:
        for clients in CLIENTS:
            runs = []
            for target in targets:
                runs.append(await load(target, read, pros, clients, seconds, warmup,
                                       store_pid))
            cells = [f"{r.throughput:.1f} | {pct(r.latencies, .5):.1f} | "
                     f"{pct(r.latencies, .95):.1f}" + (f" ({r.errors} errors)" if r.errors else "")
                     + f" | {r.cpu_ms()}"
                     for r in runs]
            if len(runs) == 2:
                ours, peer = runs
                cells.append(f"{ours.throughput / peer.throughput:.2f}x")
                cells.append(f"{pct(ours.latencies, .95) / pct(peer.latencies, .95):.2f}")
            print(f"| {read.name} | {clients} | " + " | ".join(cells) + " |", flush=True)
    if len(targets) == 2:
        print("# throughput ratio: this service / peer (above 1 is faster); "
              "p95 ratio: this service / peer (below 1 is faster)")
    print("# CPU ms/request: user + system time of the server's processes and of the store's, "
          "over the measured seconds, per answered request (the load generator apart)")


async def side_by_side(address: BoltAddress, store: Store, tmp: Path, *, peer: bool,
                       seconds: float, warmup: float, samples: int, workers: int = 1,
                       store_pid: int | None = None) -> None:
    """The comparison on a store already holding the network (``address`` serves it; its
    process ``store_pid``, when known, has its CPU time per request printed too)."""
    pros = [r["id"] for r in await store.read(SAMPLE_PROFESSIONALS)]
    why = npm_missing() if peer else "--no-peer"
    print()
    if why:
        print(f"# peer benchmark: @neo4j/graphql skipped ({why}); this service only")
    print(f"# load: closed-loop httpx clients, {warmup:g} s warm-up, then {seconds:g} s per "
          f"read, client count and server, one after the other; this service with {workers} "
          f"process{'es' * (workers > 1)} (--workers)")
    with serve_ours(address, tmp, workers) as ours:
        if why:
            await measure([ours], pros, seconds, warmup, store_pid)
            return
        with serve_peer(address, tmp) as other:
            await check_same_rows([ours, other], pros, samples)
            await measure([ours, other], pros, seconds, warmup, store_pid)


async def main(args: argparse.Namespace) -> None:
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}; load "
          f"average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.data_dir) if args.data_dir else Path(tmp) / "store"
        server = EmbeddedServer(folder)
        address = await asyncio.to_thread(server.start)
        store = connect(address.uri, address.user, address.password, address.database)
        try:
            await store.ensure_schema()
            await migrate(store)
            if args.data_dir:
                print(f"# peer benchmark: the network already in {folder}")
            else:
                counts = SIZES[args.size]
                print(f"# peer benchmark: size {args.size} {counts} "
                      "(professionals, customers, jobs, referrals)")
                started = time.perf_counter()
                data = synthetic_dataset(*counts, seed=args.seed)
                await bulk.load(store, data)
                print(f"# seeded in {time.perf_counter() - started:.0f} s")
            await side_by_side(address, store, Path(tmp), peer=not args.no_peer,
                               workers=args.workers, seconds=args.seconds, warmup=args.warmup,
                               samples=args.samples,
                               store_pid=server.pid)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-peer", action="store_true",
                   help="skip @neo4j/graphql (no npm install); measure this service only")
    p.add_argument("--peer-seconds", dest="seconds", type=float, default=10,
                   help="measured seconds per read, client count and server (default 10)")
    p.add_argument("--peer-warmup", dest="warmup", type=float, default=3,
                   help="warm-up seconds before each measurement (default 3)")
    p.add_argument("--workers", type=int, default=1,
                   help="service processes for the comparison (default 1, as the peer's one "
                        "Node process)")
    p.add_argument("--peer-samples", dest="samples", type=int, default=30,
                   help="professionals whose answers are compared before measuring (default 30)")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="small")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", help="measure on an embedded store already seeded in this "
                   "folder (`referral-graph seed synthetic --data-dir DIR ...`) instead of "
                   "seeding a new one")
    add_options(p)
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
