"""A store that hangs: every store call is bounded in time, so requests fail fast and clearly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from graph.embedded import EmbeddedServer
from graph.errors import StoreUnavailable
from graph.store import Store, connect
from tests.conftest import GraphQLClient

QUERY = "{ professionals(first: 1) { totalCount } }"
CREATE = """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } errors { code } } }"""
# Generous: the budget is RG_STORE_TIMEOUT (3 s); the request timeout (10 s) must not be what
# answers.
UPPER_BOUND = 6.0


async def timed(call):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = await call
    return result, time.monotonic() - started


@pytest.fixture
async def frozen_store(tmp_data_dir, settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """A store of the test's own and an app on it: freezing the suite's shared store would stall
    every test. Yields the server (to freeze and thaw) and a client of the app."""
    server = EmbeddedServer(tmp_data_dir)
    address = server.start()
    store = connect(address.uri, address.user, address.password, address.database,
                    timeout=settings.store_timeout)
    await store.ensure_schema()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, store=store)),
                             base_url="http://t")
    try:
        yield server, http
    finally:
        server.thaw()
        await http.aclose()
        await store.close()
        server.stop()


async def test_a_frozen_store_fails_fast_and_recovers(frozen_store, gql, uid):
    server, http = frozen_store
    client = GraphQLClient(http, gql.token)
    assert (await http.get("/readyz")).status_code == 200
    assert "errors" not in await client.post(QUERY)

    server.freeze()
    ready, seconds = await timed(http.get("/readyz"))
    assert ready.status_code == 503
    assert seconds < UPPER_BOUND
    assert (await http.get("/healthz")).status_code == 200

    body, seconds = await timed(client.post(QUERY))
    assert seconds < UPPER_BOUND
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert "Traceback" not in str(body)

    body, seconds = await timed(client.post(CREATE, {"input": {"name": "Frozen Fay"}}))
    assert seconds < UPPER_BOUND
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"

    server.thaw()
    deadline = time.monotonic() + 30
    while (await http.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        await asyncio.sleep(0.5)
    assert "errors" not in await client.post(QUERY)
    created = await client.data(CREATE, {"input": {"id": uid("cus"), "name": "Thawed Tom"}})
    assert created["createCustomer"]["errors"] == []


async def test_batch_work_gets_its_own_budget(store: Store):
    # One slow statement: past the per-call budget it fails as StoreUnavailable; inside
    # Store.batch() (bulk loads, analytics) the same statement runs to the end.
    slow = "UNWIND range(1, $n) AS i WITH i WHERE i % 7 = 0 RETURN count(i) AS n"
    tight = Store(store.driver, store.database, timeout=0.001, batch_timeout=60)
    try:
        await tight.read(slow, n=2_000_000)
    except StoreUnavailable as exc:
        assert "did not answer within" in str(exc)
    else:
        raise AssertionError("a read past the budget must fail")
    with tight.batch():
        rows = await tight.read(slow, n=2_000_000)
    assert rows == [{"n": 2_000_000 // 7}]


async def test_a_frozen_store_refuses_a_customer_token_within_one_budget(
    frozen_store, as_, uid, monkeypatch,
):
    # A customer request asks the store whether its customer was erased (unless it was asked
    # within the last CLEAR_FOR seconds: here never). With the store frozen that check fails:
    # the request is refused as unavailable (never let through, which would let an erased
    # token act) after one store budget, not two.
    from app import erasure

    monkeypatch.setattr(erasure, "CLEAR_FOR", 0.0)
    server, http = frozen_store
    customer = uid("cus")
    admin = GraphQLClient(http, as_("admin").token)
    client = GraphQLClient(http, as_("customer", customer).token)
    created = await admin.data(CREATE, {"input": {"id": customer, "name": "Cold Cleo"}})
    assert created["createCustomer"]["errors"] == []
    own = "query($id: ID!) { customer(id: $id) { name } }"
    assert (await client.data(own, {"id": customer}))["customer"]["name"] == "Cold Cleo"

    server.freeze()
    response, seconds = await timed(client.raw(own, {"id": customer}))
    assert seconds < 4.5  # one budget of RG_STORE_TIMEOUT (3 s), not two
    assert response.status_code == 503
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert "data" not in body or body["data"] is None
