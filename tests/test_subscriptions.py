"""Subscriptions over WebSocket, driven by the standard graphql-ws client (npm) against real
servers: each subscriber receives exactly the events it may read, narrowing works and is refused
beyond what the viewer may see, connections without a good token are refused, documents keep
the service's limits, and an event made through one service process reaches the subscribers of
another."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import websockets
from graphql import parse, validate

from app.auth import mint
from app.cli import DEMO_CHANGE, DEMO_SUBSCRIPTION
from graph.programs import NewProgram, RewardTrigger, create_program
from schema.build import build_schema
from schema.cost import operation_cost
from tests.clients import free_port, live_server, npm_packages
from tests.conftest import TEST_SECRET

CLIENT = Path(__file__).with_name("subscribe.cjs")
NPM = ("graphql-ws@6", "graphql@16", "ws@8")
PROTOCOL = "graphql-transport-ws"
WAIT = 20.0  # seconds an expected message may take at most (it takes well under one)

EVENTS = """
subscription($pro: ID, $net: ID) {
  referralEvents(professionalId: $pro, networkId: $net) {
    id kind at
    referral { id status note }
    reward { id amount }
  }
}
"""
# Over the cost limit: 100 referrals, each with its chain (50) and their rewards (4 each).
# (Written in parts: the documents collected from the tests must fit the limit, test_cost.)
COSTLY = ("subscription { referralEvents { referral { professional { "
          + "referralsReceived(first: 100) { nodes { chain { rewards { id } } } } } } } }")
TOO_DEEP = ("subscription { referralEvents { referral { " + "chain { " * 14 + "id"
            + " }" * 14 + " } } }")
TOO_MANY = """
subscription { referralEvents { referral { professional {
  referralsReceived(first: 1000) { nodes { id } } } } } }
"""
STATUS = """
mutation($input: UpdateReferralStatusInput!) {
  updateReferralStatus(input: $input) { errors { code } }
}
"""
CREATE = """
mutation($input: CreateReferralInput!) {
  createReferral(input: $input) { referral { id } errors { code } }
}
"""


@pytest.fixture(scope="module")
def served(settings):
    # A quick pump, a short connection_init wait and a small cap, so the tests of each are fast.
    return replace(settings, event_poll=0.05, ws_init_timeout=1.0, ws_max_subscriptions=3)


@pytest.fixture(scope="module")
def server(served, bolt) -> Iterator[str]:
    with live_server(served, bolt) as base:
        yield base


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory) -> Path:
    return npm_packages(tmp_path_factory, *NPM) / "node_modules"


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/graphql"


def bearer(settings: Any, role: str, sub: str | None = None,
           networks: list[str] | None = None, ttl: int = 3600) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(settings, role, sub, networks, ttl=ttl)}"}


class Subscribers:
    """The graphql-ws client's subscribers (tests/subscribe.cjs) and what each received."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(json.loads(line))
            self._changed.set()

    def of(self, name: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.lines if m["name"] == name and kind in (None, m["type"])]

    def events(self, name: str) -> list[dict[str, Any]]:
        """The events ``name`` received, in order."""
        return [m["payload"]["data"]["referralEvents"] for m in self.of(name, "next")
                if m["payload"].get("data")]

    async def until(self, check: Callable[[], bool], timeout: float = WAIT) -> bool:
        deadline = time.monotonic() + timeout
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True


@contextlib.asynccontextmanager
async def subscribers(node_modules: Path, base: str,
                      specs: list[dict[str, Any]]) -> AsyncIterator[Subscribers]:
    process = await asyncio.create_subprocess_exec(
        "node", str(CLIENT), ws_url(base), json.dumps(specs),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(node_modules)},
    )
    subs = Subscribers(process)
    try:
        connected = await subs.until(lambda: all(
            subs.of(s["name"], "connected") or subs.of(s["name"], "closed") for s in specs))
        assert connected, subs.lines
        yield subs
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
        subs._reader.cancel()


def spec(name: str, params: dict[str, str] | None, variables: dict[str, str] | None = None,
         query: str = EVENTS) -> dict[str, Any]:
    return {"name": name, "connectionParams": params, "query": query,
            "variables": variables or {}}


async def until_each_sees_one(make: Any, subs: Subscribers, trios: list[tuple[str, str]],
                              names: list[str]) -> set[str]:
    """Referrals made until every one of ``names`` has received an event on one of them: from
    then on each receives every event it may read (a pump hands events out in order). Each
    trio is (referrer, professional); the referee is a new customer each time."""
    made: set[str] = set()
    for _ in range(30):
        for referrer, professional in trios:
            made.add(await make.referral(referrer, professional, await make.customer()))
        if await subs.until(lambda: all(
                any(e["referral"]["id"] in made for e in subs.events(n)) for n in names),
                timeout=1.0):
            return made
    raise AssertionError(f"the subscribers never caught up: {subs.lines}")


async def test_each_subscriber_receives_exactly_the_events_it_may_read(
        server, node_modules, make, store, settings):
    # Given: a network N of the professionals P and P2 with a program that rewards referrers
    # when a referral between its members is accepted; a professional P3 outside it; a customer.
    p, p2, p3 = [await make.professional() for _ in range(3)]
    c1, cy = await make.customer(), await make.customer()
    net = await make.network()
    for member in (p, p2):
        await make.ok("add_member", networkId=net, professionalId=member)
    await create_program(store, NewProgram(
        owner_id=net, name="Circle thanks", unit="GBP", trigger=RewardTrigger.ACCEPTED,
        referrer_amount=5.0), manages=lambda _: True)
    specs = [
        spec("pro", bearer(settings, "professional", p)),
        spec("pro2", {"authorization": bearer(settings, "professional", p2)["Authorization"]}),
        spec("customer", {"token": bearer(settings, "customer", c1)["Authorization"][7:]}),
        spec("organiser", bearer(settings, "organiser", "org:1", [net])),
        spec("admin-net", bearer(settings, "admin"), {"net": net}),
        spec("admin-pro", bearer(settings, "admin"), {"pro": p}),
    ]
    names = [s["name"] for s in specs]
    async with subscribers(node_modules, server, specs) as subs:
        # C1 -> P2 reaches customer, pro2, organiser, admin-net; P -> P2 the others.
        sync = [(c1, p2), (p, p2)]
        warm = await until_each_sees_one(make, subs, sync, names)

        # When: referrals and changes, one of them earning P a reward.
        r1 = await make.referral(c1, p, await make.customer(), note="thanks")
        assert (await make.status(r1, "ACCEPTED"))["errors"] == []
        r2 = await make.referral(cy, p2, await make.customer())
        assert (await make.status(r2, "DECLINED"))["errors"] == []
        r3 = await make.referral(p, p2, cy)
        assert (await make.status(r3, "ACCEPTED"))["errors"] == []
        r4 = await make.referral(c1, p3, await make.customer())
        fence = await until_each_sees_one(make, subs, sync, names)

        # Then: each has every event on the referrals it may read, once, and nothing else.
        w1 = {r for r in warm | fence if await _referrer_of(store, r) == c1}
        w2 = (warm | fence) - w1
        may_read = {
            "pro": w2 | {r1, r3},
            "pro2": w1 | w2 | {r2, r3},
            "customer": w1 | {r1, r4},
            "organiser": w1 | w2 | {r1, r2, r3},
            "admin-net": w1 | w2 | {r1, r2, r3},
            "admin-pro": w2 | {r1, r3},
        }
        after = {r1, r2, r3, r4} | fence
        for name in names:
            got = subs.events(name)
            ids = [e["id"] for e in got]
            assert len(ids) == len(set(ids)), (name, "an event came twice")
            assert {e["referral"]["id"] for e in got} <= may_read[name], name
            expected = await _event_ids(store, may_read[name] & after)
            assert sorted(e["id"] for e in got if e["referral"]["id"] in after) == \
                sorted(expected), name
            assert subs.of(name, "error") == [] and subs.of(name, "closed") == [], name

    by_kind = {name: {(e["referral"]["id"], e["kind"]): e for e in subs.events(name)}
               for name in names}
    # The referral as it is after the change, not as the connection first saw it.
    assert by_kind["pro"][(r1, "STATUS_CHANGED")]["referral"]["status"] == "ACCEPTED"
    # An organiser reads the referral of its member's event, but not its note.
    assert by_kind["pro"][(r1, "CREATED")]["referral"]["note"] == "thanks"
    assert by_kind["organiser"][(r1, "CREATED")]["referral"]["note"] is None
    # The reward goes to those who may read it: its recipient and the program's managers.
    assert by_kind["pro"][(r3, "REWARD_CREATED")]["reward"]["amount"] == 5.0
    assert by_kind["organiser"][(r3, "REWARD_CREATED")]["reward"]["amount"] == 5.0
    assert by_kind["pro2"][(r3, "REWARD_CREATED")]["reward"] is None


async def _referrer_of(store: Any, referral: str) -> str:
    [row] = await store.read("MATCH (a)-[:MADE]->(:Referral {id: $id}) RETURN a.id AS id",
                             id=referral)
    return str(row["id"])


async def _event_ids(store: Any, referrals: set[str]) -> list[str]:
    rows = await store.read("UNWIND $ids AS id MATCH (e:Event {referralId: id}) RETURN e.id AS id",
                            ids=sorted(referrals))
    return [r["id"] for r in rows]


async def test_connections_without_a_good_token_are_refused(server, node_modules, settings):
    expired_soon = bearer(settings, "admin", ttl=2)
    specs = [
        spec("none", None),
        spec("empty", {}),
        spec("forged", {"Authorization": "Bearer not.a.token"}),
        spec("basic", {"Authorization": "Basic YWRtaW46YWRtaW4="}),
        spec("expiring", expired_soon),
    ]
    async with subscribers(node_modules, server, specs) as subs:
        refused = ["none", "empty", "forged", "basic"]
        assert await subs.until(lambda: all(subs.of(n, "closed") for n in refused))
        for name in refused:
            [closed] = subs.of(name, "closed")
            assert (closed["code"], closed["reason"]) == (4403, "Forbidden"), name
            assert subs.of(name, "connected") == [] and subs.of(name, "next") == []
        # A good token's connection ends when the token does.
        assert subs.of("expiring", "connected")
        assert await subs.until(lambda: bool(subs.of("expiring", "closed")), timeout=10)
        assert subs.of("expiring", "closed")[0]["code"] == 4403


async def _socket(server: str, payload: dict[str, Any] | None) -> Any:
    ws = await websockets.connect(ws_url(server), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    if payload is not None:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def _answer(ws: Any, operation: str, query: str,
                  variables: dict[str, Any] | None = None) -> dict[str, Any]:
    await ws.send(json.dumps({"id": operation, "type": "subscribe",
                              "payload": {"query": query, "variables": variables or {}}}))
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert message["id"] == operation, message
    return message


def _code(message: dict[str, Any]) -> str:
    assert message["type"] == "error", message
    [error] = message["payload"]
    return str(error["extensions"]["code"])


async def test_narrowing_beyond_what_the_viewer_may_read_is_refused(server, make, settings):
    p, p2, outsider = (await make.professional(), await make.professional(),
                       await make.professional())
    c = await make.customer()
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=p2)
    other_net = await make.network()
    cases = [
        # (principal, variables, code)
        (("professional", p, None), {"pro": p2}, "FORBIDDEN"),
        (("professional", p, None), {"net": net}, "FORBIDDEN"),  # not a member
        (("customer", c, None), {"pro": p}, "FORBIDDEN"),
        (("organiser", None, [net]), {"pro": outsider}, "FORBIDDEN"),
        (("organiser", None, [net]), {"net": other_net}, "FORBIDDEN"),
        (("organiser", None, [net]), {"pro": "pro_" + "0" * 26}, "FORBIDDEN"),  # unknown
        (("professional", p, None), {"pro": "not-an-id"}, "VALIDATION"),
        (("admin", None, None), {"net": p}, "VALIDATION"),  # a professional's id
    ]
    for (role, sub, networks), variables, code in cases:
        ws = await _socket(server, bearer(settings, role, sub, networks))
        try:
            message = await _answer(ws, "1", EVENTS, variables)
            assert _code(message) == code, (role, variables, message)
            if code == "FORBIDDEN":  # the same words whether or not the object exists
                assert message["payload"][0]["message"] == "not allowed"
        finally:
            await ws.close()
    allowed = [
        (("professional", p, None), {"pro": p}),
        (("professional", p2, None), {"net": net}),
        (("organiser", None, [net]), {"pro": p2}),
        (("organiser", None, [net]), {"net": net, "pro": p2}),
        (("admin", None, None), {"pro": outsider, "net": other_net}),
    ]
    for (role, sub, networks), variables in allowed:
        ws = await _socket(server, bearer(settings, role, sub, networks))
        try:
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": EVENTS, "variables": variables}}))
            with pytest.raises(TimeoutError):  # running: nothing to say until an event comes
                await asyncio.wait_for(ws.recv(), 0.5)
        finally:
            await ws.close()


async def test_narrowed_subscribers_receive_only_their_part(server, node_modules, make,
                                                            settings):
    p, p2 = await make.professional(), await make.professional()
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=p2)
    specs = [spec("org-p2", bearer(settings, "organiser", None, [net]), {"pro": p2}),
             spec("admin-net", bearer(settings, "admin"), {"net": net}),
             spec("pro-self", bearer(settings, "professional", p), {"pro": p})]
    async with subscribers(node_modules, server, specs) as subs:
        names = [s["name"] for s in specs]
        await until_each_sees_one(make, subs, [(p, p2)], names)
        outside = await make.referral(await make.customer(), p, await make.customer())
        inside = await make.referral(await make.customer(), p2, await make.customer())
        assert await subs.until(lambda: any(
            e["referral"]["id"] == inside for e in subs.events("admin-net")))
        assert await subs.until(lambda: any(
            e["referral"]["id"] == outside for e in subs.events("pro-self")))
        await until_each_sees_one(make, subs, [(p, p2)], names)
        seen = {n: {e["referral"]["id"] for e in subs.events(n)} for n in names}
    assert inside in seen["org-p2"] and outside not in seen["org-p2"]
    assert inside in seen["admin-net"] and outside not in seen["admin-net"]
    assert outside in seen["pro-self"] and inside not in seen["pro-self"]


async def test_documents_keep_the_limits_and_the_socket_runs_only_subscriptions(
        server, settings):
    schema = build_schema(settings)._schema
    [operation] = parse(COSTLY).definitions
    assert operation_cost(schema, operation, {}) > settings.max_cost  # type: ignore[arg-type]
    ws = await _socket(server, bearer(settings, "admin"))
    try:
        costly = await _answer(ws, "cost", COSTLY)
        assert _code(costly) == "VALIDATION"
        assert costly["payload"][0]["extensions"]["limit"] == "cost"
        assert _code(await _answer(ws, "first", TOO_MANY)) == "VALIDATION"
        deep = await _answer(ws, "deep", TOO_DEEP)
        assert deep["type"] == "error" and "depth" in deep["payload"][0]["message"]
        size = await _answer(ws, "size", "subscription { referralEvents { id } }"
                             + " " * settings.max_document_chars)
        assert size["payload"][0]["extensions"]["limit"] == "document"
        tokens = await _answer(ws, "tokens", "subscription { referralEvents { id "
                               + "kind " * settings.max_tokens + "} }")
        assert "tokens" in tokens["payload"][0]["message"]
        assert _code(await _answer(ws, "bad", 5)) == "BAD_REQUEST"  # type: ignore[arg-type]
        syntax = await _answer(ws, "syntax", "subscription {")
        assert syntax["type"] == "error"  # for that operation: the connection stays open
        query = await _answer(ws, "query", "{ __typename }")
        assert _code(query) == "BAD_REQUEST"
        assert "over HTTP" in query["payload"][0]["message"]
        # At most RG_WS_MAX_SUBSCRIPTIONS (3 here) at once on one connection.
        for n in range(3):
            await ws.send(json.dumps({"id": f"s{n}", "type": "subscribe",
                                      "payload": {"query": EVENTS}}))
        capped = await _answer(ws, "s3", EVENTS)
        assert _code(capped) == "VALIDATION"
        assert capped["payload"][0]["extensions"]["limit"] == "subscriptions"
    finally:
        await ws.close()


async def test_a_connection_that_never_initialises_is_closed(server):
    ws = await _socket(server, None)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


async def test_a_subscription_over_http_is_refused(as_):
    body = await as_("admin").post(EVENTS)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in error["message"]


@contextlib.contextmanager
def serve_process(bolt: Any, log: Path) -> Iterator[str]:
    """``referral-graph serve``, a process of its own, on the session's store."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "RG_"))}
    env.update({"PYTHONPATH": str(Path(__file__).resolve().parent.parent),
                "NEO4J_URI": bolt.uri, "NEO4J_USER": bolt.user, "NEO4J_PASSWORD": bolt.password,
                "NEO4J_DATABASE": bolt.database, "RG_AUTH_SECRET": TEST_SECRET,
                "RG_WORKERS": "1", "RG_EVENT_POLL": "0.05", "RG_EVENT_SWEEP_INTERVAL": "0",
                "RG_ANALYTICS_REFRESH_AFTER": "0"})
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _post(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


async def test_an_event_made_through_one_process_reaches_subscribers_of_another(
        server, node_modules, make, settings, bolt, tmp_path):
    p = await make.professional()
    c = await make.customer()
    token = mint(settings, "admin")
    with serve_process(bolt, tmp_path / "serve.log") as other:
        # A subscriber on each process; each change is made through the other process.
        async with subscribers(node_modules, other, [
                spec("there", bearer(settings, "professional", p))]) as there, \
                subscribers(node_modules, server, [
                    spec("here", bearer(settings, "professional", p))]) as here:
            for _ in range(30):  # until both subscriptions run
                ref = await make.referral(c, p, await make.customer())
                if await there.until(lambda: bool(there.events("there")), 1.0) and \
                        await here.until(lambda: bool(here.events("here")), 1.0):
                    break
            made_here = (await asyncio.to_thread(_post, server, token, CREATE, {"input": {
                "referrerId": c, "professionalId": p,
                "refereeId": await make.customer()}}))["createReferral"]["referral"]["id"]
            assert await there.until(lambda: any(
                e["referral"]["id"] == made_here for e in there.events("there")))
            await asyncio.to_thread(_post, other, token, STATUS,
                                    {"input": {"id": ref, "status": "ACCEPTED"}})
            assert await here.until(lambda: any(
                (e["referral"]["id"], e["kind"]) == (ref, "STATUS_CHANGED")
                for e in here.events("here")))


def test_the_demo_suggests_documents_the_schema_accepts(settings):
    schema = build_schema(settings)._schema
    for document in (DEMO_SUBSCRIPTION, DEMO_CHANGE):
        assert validate(schema, parse(document)) == []


async def test_handshakes_and_subscribes_spend_from_the_rate_limits(settings, bolt):
    tight = replace(settings, rate_limit=1, rate_burst=2, rate_limit_address=1,
                    rate_burst_address=4)
    with live_server(tight, bolt) as base:
        ws = await _socket(base, bearer(settings, "admin"))
        try:
            for n in range(2):  # the principal's burst
                await ws.send(json.dumps({"id": f"s{n}", "type": "subscribe",
                                          "payload": {"query": EVENTS}}))
            limited = await _answer(ws, "s2", EVENTS)
            assert _code(limited) == "RATE_LIMITED"
            assert limited["payload"][0]["extensions"]["retryAfter"] >= 1
        finally:
            await ws.close()
        # The address's burst (the server's readiness checks spent some of it too).
        with pytest.raises(websockets.InvalidStatus) as refused:
            for _ in range(5):
                await (await websockets.connect(ws_url(base))).close()
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["retry-after"]
