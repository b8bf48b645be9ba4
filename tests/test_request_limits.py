"""Limits at the HTTP layer: body size, request time, and a server that stays responsive."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn

from app.auth import mint
from app.limits import Timeout
from app.main import create_app
from graph.access import Principal, Role
from resolvers.context import Context
from resolvers.deadline import SCOPE_KEY, Deadline, DeadlinePassed
from schema.build import build_schema
from seeds.complementary_trades import CURATED
from tests.conftest import GraphQLClient


async def test_a_body_over_the_limit_gets_413_before_it_is_read(http, settings):
    # Without a token: the limit holds before authentication is even looked at.
    huge = '{"query": "{ __typename }' + " " * (settings.max_body_bytes + 1) + '"}'
    response = await http.post("/graphql", content=huge,
                               headers={"content-type": "application/json"})
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION", "limit": "body",
                                   "maxBytes": settings.max_body_bytes}
    assert str(settings.max_body_bytes) in error["message"]


async def test_a_streamed_body_is_cut_off_at_the_limit(store, settings):
    app = create_app(settings.with_overrides(max_body_bytes=1000), store=store)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename } #'
        for _ in range(100):
            sent += 1
            yield b"x" * 100
        yield b'"}'

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        response = await http.post("/graphql", content=chunks(),
                                   headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["limit"] == "body"
        fine = await http.post("/graphql", json={"query": "{ __typename }"})
        assert fine.status_code == 200 and fine.json()["data"] == {"__typename": "Query"}


async def test_a_body_sent_slowly_counts_against_the_request_time(store, settings):
    app = create_app(settings.with_overrides(request_timeout=0.3, store_timeout=0.1), store=store)

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename } #'
        for _ in range(50):
            await asyncio.sleep(0.1)
            yield b"x"
        yield b'"}'

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        started = time.monotonic()
        response = await http.post("/graphql", content=trickle(),
                                   headers={"content-type": "application/json"})
        assert time.monotonic() - started < 3
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


async def test_a_body_under_the_limit_with_a_long_comment_is_served(gql, settings):
    comment = "#" + "x" * (settings.max_document_chars - 100) + "\n"
    assert (await gql.post(comment + "{ __typename }"))["data"] == {"__typename": "Query"}


def timed_out(app: Any, seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Timeout(app, seconds)),
                             base_url="http://t")


async def test_a_slow_request_answers_timeout_and_its_work_has_stopped():
    stopped = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    async with timed_out(slow, 0.2) as http:
        started = time.monotonic()
        response = await http.post("/graphql", json={"query": "{ __typename }"})
        assert time.monotonic() - started < 5
        assert stopped.is_set()  # before the answer went out
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert "0.2 s" in response.json()["errors"][0]["message"]


async def test_busy_work_between_awaits_stops_at_the_deadline():
    steps = 0

    async def busy(scope: Any, receive: Any, send: Any) -> None:
        nonlocal steps
        for _ in range(1000):
            steps += 1
            time.sleep(0.005)  # CPU-bound work between two awaits
            await asyncio.sleep(0)

    async with timed_out(busy, 0.3) as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    done = steps
    await asyncio.sleep(0.1)
    assert steps == done < 1000  # nothing of it keeps running


async def test_a_request_within_its_time_passes_through():
    async def quick(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    async with timed_out(quick, 5) as http:
        response = await http.post("/graphql", json={})
    assert (response.status_code, response.text) == (200, "done")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(bolt, settings) -> Iterator[str]:
    """The whole service on a real uvicorn server (its own event loop, thread and driver)."""
    config = settings.with_overrides(neo4j_uri=bolt.uri, neo4j_user=bolt.user,
                                     neo4j_password=bolt.password, neo4j_database=bolt.database,
                                     analytics_refresh_after=0)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def nested_members(network: str, levels: int, first: int) -> str:
    inner = "id name"
    for _ in range(levels):
        inner = f"networks {{ members(first: {first}) {{ nodes {{ {inner} }} }} }}"
    return f'{{ network(id: "{network}") {{ members(first: {first}) {{ nodes {{ {inner} }} }} }} }}'


async def test_healthz_stays_responsive_while_heavy_queries_run(served, make, gql, settings):
    # Given a network of 20 members: nesting its members four levels deep asks for 20^5 rows.
    network = await make.network()
    for _ in range(20):
        pro = await make.professional()
        await make.ok("add_member", networkId=network, professionalId=pro)
    token = mint(settings, "admin", "admin:test")
    async with httpx.AsyncClient(base_url=served, timeout=120) as http:
        client = GraphQLClient(http, token)
        heavy = [asyncio.create_task(client.raw(nested_members(network, levels, 20)))
                 for levels in (4, 4, 1)]
        worst = 0.0
        while not all(t.done() for t in heavy):
            started = time.monotonic()
            assert (await http.get("/healthz")).status_code == 200
            worst = max(worst, time.monotonic() - started)
            await asyncio.sleep(0.05)
        refused, _, allowed = [t.result().json() for t in heavy]
    assert refused["errors"][0]["extensions"]["limit"] == "cost"
    assert "errors" not in allowed
    assert len(allowed["data"]["network"]["members"]["nodes"]) == 20
    assert worst < 1.0


def _context(store: Any, settings: Any, deadline: Deadline) -> Context:
    request = SimpleNamespace(scope={"state": {"deadline": deadline}})
    return Context.new(store, settings, Principal(Role.ADMIN), request, curated=CURATED)


async def test_building_an_answer_stops_once_the_deadline_has_passed(store, settings, uid):
    schema = build_schema(settings)
    passed = Deadline(0)
    with pytest.raises(DeadlinePassed):
        await schema.execute("{ networks { nodes { id } } }",
                             context_value=_context(store, settings, passed))
    lifted = Deadline(0)
    lifted.lift()
    result = await schema.execute("{ networks { totalCount } }",
                                  context_value=_context(store, settings, lifted))
    assert result.errors is None
    # A mutation's answer is never cut short: its write has committed.
    nid = uid("net")
    result = await schema.execute(
        'mutation($id: ID!) { createNetwork(input: {id: $id, name: "Late"}) '
        "{ network { id } errors { code } } }",
        variable_values={"id": nid}, context_value=_context(store, settings, Deadline(0)))
    assert result.errors is None and result.data["createNetwork"]["network"]["id"] == nid


async def test_a_request_running_a_mutation_is_not_cut_short_at_its_deadline():
    # A mutation past its deadline may already have committed: the answer says what happened,
    # never a TIMEOUT for work that was done.
    stopped = asyncio.Event()

    async def mutation(scope: Any, receive: Any, send: Any) -> None:
        scope["state"][SCOPE_KEY].hold()  # as the schema's executor does for a mutation
        await asyncio.sleep(0.5)
        stopped.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"committed"})

    async with timed_out(mutation, 0.1) as http:
        response = await http.post("/graphql", json={})
    assert (response.status_code, response.text) == (200, "committed")
    assert stopped.is_set()


async def test_the_schema_holds_the_deadline_of_a_mutation_only(store, settings, uid):
    seen: list[Any] = []
    inner = create_app(settings, store=store)

    async def capture(scope: Any, receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        if scope["type"] == "http":
            seen.append(scope["state"][SCOPE_KEY])

    token = mint(settings, "admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=capture),
                                 base_url="http://t",
                                 headers={"authorization": f"Bearer {token}"}) as http:
        query = await http.post("/graphql",
                                json={"query": "{ customers(first: 1) { totalCount } }"})
        assert "errors" not in query.json()
        created = await http.post("/graphql", json={
            "query": "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) "
                     "{ customer { id } errors { code } } }",
            "variables": {"input": {"id": uid("cus"), "name": "Held Hana"}}})
        assert created.json()["data"]["createCustomer"]["errors"] == []
    assert [deadline.held for deadline in seen] == [False, True]


async def test_a_timeout_is_answered_in_the_media_type_the_client_asked_for():
    # Like a TIMEOUT inside a GraphQL result: 504 in application/graphql-response+json (a
    # request error: no data entry), 200 in plain application/json.
    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(60)

    spec = "application/graphql-response+json"
    async with timed_out(slow, 0.1) as http:
        strict = await http.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"accept": f"{spec}, application/json;q=0.9"})
        plain = await http.post("/graphql", json={"query": "{ __typename }"},
                                headers={"accept": "application/json"})
        neither = await http.post("/graphql", json={"query": "{ __typename }"},
                                  headers={"accept": "text/html"})
    assert (strict.status_code, strict.headers["content-type"]) == (504, spec)
    assert "data" not in strict.json()
    assert strict.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    for response in (plain, neither):
        assert (response.status_code, response.headers["content-type"]) == (200,
                                                                            "application/json")
        assert response.json()["data"] is None
        assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
