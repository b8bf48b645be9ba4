"""Webhook receivers for the tests: real HTTP servers on loopback, in a thread of their own,
that note every request and answer as the test says; and the helpers that run the sender."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from app.auth import mint
from app.main import create_app
from app.settings import Settings
from graph import events, webhooks
from graph.delivery import Deliverer, Policy
from graph.errors import NotFound
from graph.sealing import SecretBox, keys_of
from graph.store import Store

# Retries a few hundredths of a second apart: a test sees a webhook's whole life in a second.
FAST = Policy(retry_base=0.05, retry_factor=2.0, max_attempts=4, timeout=2.0,
              allow_private=True)


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it came in
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["rg-event-id"]


def valid(secret: str, received: Received, tolerance: float = 300) -> bool:
    """Whether the request's RG-Signature is the HMAC of "<t>.<body>" under ``secret``, with
    ``t`` within ``tolerance`` seconds of now."""
    parts = dict(p.split("=", 1) for p in received.headers["rg-signature"].split(","))
    t = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{t}.".encode() + received.body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - t) < tolerance


# How a receiver answers: (the request's event id, how many times that event came before) ->
# the status to send.
Answer = Callable[[str, int], int]


def always(status: int) -> Answer:
    return lambda _event, _before: status


OK = always(200)


def failing_first(times: int, event_ids: set[str] | None = None) -> Answer:
    """500 to the first ``times`` requests of each event (of ``event_ids`` only, if given)."""
    def answer(event: str, before: int) -> int:
        if (event_ids is None or event in event_ids) and before < times:
            return 500
        return 204

    return answer


@dataclass
class Receiver:
    answer: Answer = OK
    delay: float = 0.0
    path: str = "/hook"
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                event = self.headers.get("rg-event-id", "")
                with receiver._lock:
                    before = sum(1 for r in receiver.received if r.event_id == event)
                status = receiver.answer(event, before)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.received.append(Received(
                        {k.lower(): v for k, v in self.headers.items()}, body,
                        time.monotonic(), status))
                payload = b"a body the sender must not keep"
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def of(self, event_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.event_id == event_id]

    def events(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def first_arrivals(self) -> list[Received]:
        """Each event's first request, in the order they came."""
        seen: set[str] = set()
        out = []
        for r in self.events():
            if r.event_id not in seen:
                seen.add(r.event_id)
                out.append(r)
        return out


@contextlib.contextmanager
def receiving(answer: Answer = OK, delay: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(answer, delay)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@contextlib.asynccontextmanager
async def sending(store: Store, key: str, policy: Policy = FAST) -> AsyncIterator[Deliverer]:
    """This process's pump and webhook sender, as the service's lifespan runs them."""
    pump = events.Pump(store, poll=0.05)
    deliverer = Deliverer(store, SecretBox(keys_of(key)), policy, poll=0.05)
    unlisten = pump.listen(lambda _: deliverer.nudge())
    pump.start()
    deliverer.start()
    try:
        yield deliverer
    finally:
        unlisten()
        await deliverer.stop()
        await pump.stop()


async def wait_for(check: Callable[[], Any], seconds: float = 15.0, what: str = "") -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    import asyncio
    import inspect

    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- fixtures (a conftest plugin)

CREATE_WEBHOOK = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    webhook { id url events ownerId active createdAt }
    secret
    errors { code message field }
  }
}
"""
DELETE_WEBHOOK = """
mutation($id: ID!) { deleteWebhook(id: $id) { deletedId errors { code message field } } }
"""
DELIVERIES = """
query($id: ID!, $status: DeliveryStatus) {
  node(id: $id) {
    ... on Webhook {
      deliveries(status: $status, first: 100) {
        totalCount
        nodes { eventId kind status attempts lastResponseCode lastAttemptAt nextAttemptAt }
      }
    }
  }
}
"""
ALL_KINDS = list(events.KINDS)


@pytest.fixture(scope="session")
def private_settings(settings: Settings) -> Settings:
    """The suite's settings with private addresses and plain http allowed (the receivers
    listen on loopback)."""
    return settings.with_overrides(webhooks_allow_private=True)


@pytest.fixture(scope="session")
async def private_app(store: Store, private_settings: Settings) -> Any:
    return create_app(private_settings, store=store)


@pytest.fixture
async def hooks_as(private_app: Any, settings: Settings) -> AsyncIterator[Any]:
    """``as_`` for the app that allows loopback receivers."""
    from tests.conftest import GraphQLClient

    transport = httpx.ASGITransport(app=private_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

        def client(role: str | None, sub: str | None = None,
                   networks: list[str] | None = None) -> GraphQLClient:
            token = None if role is None else mint(settings, role, sub, networks)
            return GraphQLClient(http, token)

        yield client


class Hooks:
    """Makes webhooks through the API, and deletes them after the test so that no sender
    running later in the suite goes on trying a receiver that is gone."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.made: list[str] = []

    async def create(self, client: Any, url: str, events: list[str] | None = None,
                     owner: str | None = None) -> dict[str, Any]:
        """The payload of createWebhook (errors included)."""
        data = await client.data(CREATE_WEBHOOK, {"input": {
            "url": url, "events": ALL_KINDS if events is None else events, "ownerId": owner}})
        payload = data["createWebhook"]
        if payload["webhook"] is not None:
            self.made.append(payload["webhook"]["id"])
        return payload

    async def ok(self, client: Any, url: str, events: list[str] | None = None,
                 owner: str | None = None) -> tuple[str, str]:
        """A new webhook's id and secret."""
        payload = await self.create(client, url, events, owner)
        assert payload["errors"] == [], payload["errors"]
        return payload["webhook"]["id"], payload["secret"]

    async def clean(self) -> None:
        for made in self.made:
            with contextlib.suppress(NotFound):
                await webhooks.delete_webhook(self.store, made)


@pytest.fixture
async def hooks(store: Store) -> AsyncIterator[Hooks]:
    made = Hooks(store)
    yield made
    await made.clean()
