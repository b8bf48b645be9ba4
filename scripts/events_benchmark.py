"""What closing the loop costs and how fast it is: status changes with and without a webhook
and a subscriber, event-to-delivery latency, and a burst of events drained to a receiver.

Usage::

    cd scripts && python events_benchmark.py --size medium --rounds 200 --events 1000

It generates the synthetic network, loads it into an embedded store, serves it with
``referral-graph serve`` (a subprocess, one worker) and, from this process (the receiver and
the subscriber run in a process of their own, :class:`Observer`, as they would elsewhere):

- times ``updateReferralStatus`` (SENT -> ACCEPTED) over GraphQL in blocks of ``--block``,
  alternating blocks with no webhook and no subscriber and blocks with one webhook and one
  subscriber on the professional, so both are measured side by side under the same conditions;
  prints p50 and p95 of each and the ratio of the p95s (target: at most 1.2);
- event-to-delivery latency: from the event's ``at`` to its arrival at a healthy receiver (a
  loopback HTTP server here) and at the subscriber (``graphql-transport-ws`` over a WebSocket),
  p50 and p95 (target: p95 under 1 s);
- a burst: ``--events`` referrals made as fast as 8 concurrent clients can, and the time until
  the receiver holds every one of their events. How fast 8 clients can make referrals through
  the API bounds that figure, so a second burst is made by batch work, as the service's own
  sweep makes events: one reminder for each of those referrals (still SENT), written by
  ``graph.sweep`` in transactions of a thousand, and the time from the sweep's start until the
  receiver holds every reminder (target: 1,000 in under 10 s). Before the service starts, the
  seed's own SENT referrals are reminded, so that the second burst holds only the first's.

Figures only; nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import websockets
from peer_benchmark import ROOT, SECRET, _stop, _store_env, _wait_ready, free_port
from websockets.typing import Subprotocol

from app.auth import mint
from app.settings import load_settings
from graph import bulk, sweep
from graph.embedded import EmbeddedServer
from graph.migrations import migrate
from graph.store import connect
from seeds.synthetic import SIZES, synthetic_dataset

CREATE = """mutation($input: CreateReferralInput!) { createReferral(input: $input) {
  referral { id } errors { code message } } }"""
STATUS = """mutation($input: UpdateReferralStatusInput!) { updateReferralStatus(input: $input) {
  referral { id status } errors { code message } } }"""
WEBHOOK = """mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  webhook { id } secret errors { code message } } }"""
DELETE = "mutation($id: ID!) { deleteWebhook(id: $id) { errors { code } } }"
SUBSCRIBE = """subscription($p: ID) { referralEvents(professionalId: $p) {
  id kind at referral { id status } } }"""
# Seconds a burst may take to arrive before the benchmark gives up on it.
DEADLINE = 120.0
# A time to live no referral reaches: the benchmark's sweeps remind, never expire.
NEVER_DAYS = 365_000
KINDS = ["CREATED", "STATUS_CHANGED", "REWARD_CREATED", "REWARD_STATUS_CHANGED", "REMINDER"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Receiver:
    """A webhook receiver on loopback: answers 204 at once, notes each event's arrival."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, dict[str, Any]]] = {}
        self.port = free_port()
        self.changed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                now = time.time()
                event = json.loads(body)
                self.arrivals.setdefault(event["id"], (now, event))
                self.changed.set()
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        async with server:
            yield self


class Subscriber:
    """One ``referralEvents`` subscription over graphql-transport-ws; notes arrivals."""

    def __init__(self, url: str, token: str, professional: str) -> None:
        self.url, self.token, self.professional = url, token, professional
        self.arrivals: dict[str, tuple[float, dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def _run(self) -> None:
        protocols = [Subprotocol("graphql-transport-ws")]
        async with websockets.connect(self.url, subprotocols=protocols) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {self.token}"}}))
            ack = json.loads(await ws.recv())
            assert ack["type"] == "connection_ack", ack
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SUBSCRIBE, "variables": {"p": self.professional}}}))
            self.ready.set()
            async for message in ws:
                now = time.time()
                data = json.loads(message)
                if data.get("type") == "next":
                    event = data["payload"]["data"]["referralEvents"]
                    self.arrivals.setdefault(event["id"], (now, event))
                elif data.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 30)
        await asyncio.sleep(0.5)  # the subscription is registered on the server

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def observe(conn: Connection) -> None:
    """The observer process: the receiver and, on demand, the subscriber, in an event loop of
    their own, answering the benchmark's commands over ``conn``."""
    asyncio.run(_observe(conn))


async def _observe(conn: Connection) -> None:
    receiver = Receiver()
    subscriber: Subscriber | None = None
    async with receiver.running():
        while True:
            command, *args = await asyncio.to_thread(conn.recv)
            if command == "port":
                conn.send(receiver.port)
            elif command == "subscribe":
                subscriber = Subscriber(*args)
                await subscriber.start()
                conn.send(None)
            elif command == "unsubscribe":
                if subscriber is not None:
                    await subscriber.stop()
                conn.send(None)
            elif command == "hooked":
                conn.send(receiver.arrivals)
            elif command == "subscribed":
                conn.send({} if subscriber is None else subscriber.arrivals)
            elif command == "wait":
                conn.send(await _last_arrival(receiver, *args))
            else:
                conn.send(None)
                return


async def _last_arrival(receiver: Receiver, kind: str, ids: set[str], before: set[str],
                        deadline: float) -> float | None:
    """When the last of the events of ``kind`` on ``ids`` arrived (not counting the arrivals
    in ``before``); None if some had not by ``deadline`` (seconds since the epoch)."""
    while True:
        got = {e.get("referralId"): at for k, (at, e) in receiver.arrivals.items()
               if k not in before and e.get("kind") == kind}
        if ids <= got.keys():
            return max(got[i] for i in ids)
        if time.time() > deadline:
            return None
        receiver.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.changed.wait(), 0.5)


class Observer:
    """The receiver and the subscriber, in a process of their own: in the benchmark's process
    their work would be timed as part of the status changes it measures."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=observe, args=(child,), daemon=True)
        self.proc.start()
        self.conn.send(("port",))
        self.port: int = self.conn.recv()

    async def call(self, *command: Any) -> Any:
        self.conn.send(command)
        return await asyncio.to_thread(self.conn.recv)

    async def close(self) -> None:
        await self.call("stop")
        self.proc.join(10)


@contextlib.contextmanager
def serve(address: Any, tmp: Path) -> Iterator[tuple[str, str]]:
    """``referral-graph serve`` on the store; (base URL, admin token)."""
    import subprocess

    port = free_port()
    lifted = str(10_000_000)
    service_env = {"RG_AUTH_SECRET": SECRET, "RG_LOG_LEVEL": "WARNING",
                   "RG_DATA_DIR": str(tmp / "service-data"), "RG_PORT": str(port),
                   "RG_RATE_LIMIT": lifted, "RG_RATE_BURST": lifted,
                   "RG_RATE_LIMIT_ADDRESS": lifted, "RG_RATE_BURST_ADDRESS": lifted,
                   "RG_WEBHOOKS_ALLOW_PRIVATE": "true", "RG_EVENT_SWEEP_INTERVAL": "0",
                   "RG_ANALYTICS_REFRESH_AFTER": "0"}
    env = _store_env(address) | service_env | {"PYTHONPATH": str(ROOT)}
    log = tmp / "service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200,
                    log, "the service")
        settings = load_settings(_store_env(address) | service_env)
        yield base, mint(settings, "admin", "admin:benchmark", ttl=3600)
    finally:
        _stop(proc)


async def gql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    r = await http.post("/graphql", json={"query": query, "variables": variables})
    body = r.json()
    if r.status_code != 200 or "errors" in body:
        raise RuntimeError(f"HTTP {r.status_code}: {r.text[:500]}")
    payload: dict[str, Any] = next(iter(body["data"].values()))
    if payload.get("errors"):
        raise RuntimeError(str(payload["errors"]))
    return payload


async def referrals_for(http: httpx.AsyncClient, pro: str, customers: list[str],
                        n: int, start: int) -> list[str]:
    async def one(i: int) -> str:
        made = await gql(http, CREATE, input={
            "referrerId": customers[(start + 2 * i) % len(customers)], "professionalId": pro,
            "refereeId": customers[(start + 2 * i + 1) % len(customers)]})
        return str(made["referral"]["id"])

    out: list[str] = []
    for at in range(0, n, 8):
        out.extend(await asyncio.gather(*(one(i) for i in range(at, min(n, at + 8)))))
    return out


async def timed_changes(http: httpx.AsyncClient, refs: list[str]) -> list[float]:
    times = []
    for ref in refs:
        start = time.perf_counter()
        await gql(http, STATUS, input={"id": ref, "status": "ACCEPTED"})
        times.append((time.perf_counter() - start) * 1000)
    return times


def since(event: dict[str, Any], arrived: float) -> float:
    """Milliseconds from the event's time to its arrival."""
    return (arrived - datetime.fromisoformat(event["at"]).timestamp()) * 1000


async def main(args: argparse.Namespace) -> None:
    pros_n, customers_n, jobs_n, referrals_n = SIZES[args.size]
    data = synthetic_dataset(pros_n, customers_n, jobs_n, referrals_n, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="rg-events-") as tmp_name:
        tmp = Path(tmp_name)
        server = EmbeddedServer(tmp / "store")
        address = await asyncio.to_thread(server.start)
        store = connect(address.uri, address.user, address.password, address.database)
        try:
            await store.ensure_schema()
            await migrate(store)
            await bulk.load(store, data)
            # The seed's SENT referrals are reminded now, with no webhook yet: the benchmark's
            # batch burst then reminds only the referrals it made itself.
            await sweep.sweep(store, reminder_days=0, ttl_days=NEVER_DAYS)
            await store.close()
            print(f"# {args.size}: {pros_n} professionals, {customers_n} customers, "
                  f"{referrals_n} referrals loaded", file=sys.stderr)
            with serve(address, tmp) as (base, token):
                await run(args, data, base, token, address)
        finally:
            await asyncio.to_thread(server.stop)


async def run(args: argparse.Namespace, data: Any, base: str, token: str,
              address: Any) -> None:
    customers = [c["id"] for c in data.customers]
    pro = data.professionals[0]["id"]
    headers = {"authorization": f"Bearer {token}"}
    ws_url = base.replace("http://", "ws://") + "/graphql"
    observer = Observer()
    hook_url = f"http://127.0.0.1:{observer.port}/hook"
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            await measure(args, http, observer, hook_url, ws_url, token, pro, customers,
                          address)
    finally:
        await observer.close()


async def measure(args: argparse.Namespace, http: httpx.AsyncClient, observer: Observer,
                  hook_url: str, ws_url: str, token: str, pro: str, customers: list[str],
                  address: Any) -> None:
    refs = await referrals_for(http, pro, customers, 2 * args.rounds, 0)
    plain_refs, loop_refs = refs[: args.rounds], refs[args.rounds :]
    none: list[float] = []
    closed: list[float] = []
    for at in range(0, args.rounds, args.block):
        none.extend(await timed_changes(http, plain_refs[at : at + args.block]))
        made = await gql(http, WEBHOOK, input={"ownerId": pro, "url": hook_url,
                                               "events": KINDS})
        await observer.call("subscribe", ws_url, token, pro)
        closed.extend(await timed_changes(http, loop_refs[at : at + args.block]))
        await observer.call("unsubscribe")
        await gql(http, DELETE, id=made["webhook"]["id"])
    print("| status change (updateReferralStatus) | n | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    print(f"| no webhook, no subscriber | {len(none)} | {pct(none, 0.5):.1f} | "
          f"{pct(none, 0.95):.1f} |")
    print(f"| one webhook and one subscriber | {len(closed)} | {pct(closed, 0.5):.1f} | "
          f"{pct(closed, 0.95):.1f} |")
    print(f"| ratio of p95 (target <= 1.2) | | | {pct(closed, 0.95) / pct(none, 0.95):.2f} |")

    # Latency: a webhook and a subscriber that stay, one change at a time.
    await gql(http, WEBHOOK, input={"ownerId": pro, "url": hook_url, "events": KINDS})
    await observer.call("subscribe", ws_url, token, pro)
    fresh = await referrals_for(http, pro, customers, args.latency, 4 * args.rounds)
    await asyncio.sleep(1.0)
    for ref in fresh:
        await gql(http, STATUS, input={"id": ref, "status": "ACCEPTED"})
        await asyncio.sleep(args.gap)
    await asyncio.sleep(2.0)
    wanted = set(fresh)
    hooked = [since(e, at) for at, e in (await observer.call("hooked")).values()
              if e.get("referralId") in wanted]
    subscribed = [since(e, at) for at, e in (await observer.call("subscribed")).values()
                  if e["referral"]["id"] in wanted]
    await observer.call("unsubscribe")
    print()
    print("| event to delivery | events | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    for name, values in (("webhook (healthy receiver)", hooked), ("subscription", subscribed)):
        if values:
            print(f"| {name} | {len(values)} | {pct(values, 0.5):.0f} | "
                  f"{pct(values, 0.95):.0f} |")

    # The burst: --events referrals, then wait until the receiver holds them all.
    before = set(await observer.call("hooked"))
    start = time.time()
    burst = await referrals_for(http, pro, customers, args.events, 8 * args.rounds)
    made_s = time.time() - start
    last = await observer.call("wait", "CREATED", set(burst), before, start + DEADLINE)
    print()
    print("| burst | events | made in s | all delivered in s |")
    print("|---|---:|---:|---:|")
    print(f"| {args.events} referrals by 8 clients | {len(burst)} | {made_s:.1f} | "
          f"{_seconds(last, start)} |")

    # The batch burst: one reminder for each referral of the burst, in the sweep's
    # transactions of a thousand, delivered by the service from the outbox.
    store = connect(address.uri, address.user, address.password, address.database)
    try:
        before = set(await observer.call("hooked"))
        start = time.time()
        reminded = (await sweep.sweep(store, reminder_days=0, ttl_days=NEVER_DAYS)).reminded
        made_s = time.time() - start
        last = await observer.call("wait", "REMINDER", set(burst), before, start + DEADLINE)
    finally:
        await store.close()
    print(f"| {reminded} reminders by one sweep | {len(burst)} | {made_s:.1f} | "
          f"{_seconds(last, start)} |")


def _seconds(last: float | None, start: float) -> str:
    return f"not all in {DEADLINE:.0f}" if last is None else f"{last - start:.1f}"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="medium")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=200, help="status changes per side")
    p.add_argument("--block", type=int, default=20, help="changes per alternating block")
    p.add_argument("--latency", type=int, default=100, help="changes timed end to end")
    p.add_argument("--gap", type=float, default=0.05, help="seconds between those changes")
    p.add_argument("--events", type=int, default=1000, help="referrals in the burst")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
