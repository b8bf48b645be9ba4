"""Fuzzing the whole schema: generated queries and mutations, valid in shape, random in value.

Whatever comes in: no 5xx, no unmasked (or masked-unexpected) error, and a mutation that answers
with an error has written nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, mutations, nodes

from app.auth import mint
from app.main import create_app
from app.settings import Settings
from graph.store import connect
from schema.build import sdl

SCHEMA = sdl(Settings())
KNOWN_CODES = {"VALIDATION", "NOT_FOUND", "CONFLICT", "DUPLICATE", "INVALID_TRANSITION",
               "SELF_REFERRAL", "FORBIDDEN"}
MUTATION_FIELDS = ["createProfessional", "createCustomer", "recordJob", "confirmJob",
                   "rejectJob", "createReferral",
                   "updateReferralStatus", "createNetwork", "addNetworkMember",
                   "removeNetworkMember", "deleteCustomer", "createRewardProgram",
                   "endRewardProgram", "createWebhook", "deleteWebhook"]
COUNTS = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS links }
RETURN nodes, links
"""
SCALARS = {
    "DateTime": st.datetimes(timezones=st.sampled_from(
        [__import__("datetime").UTC, None])).map(lambda d: nodes.String(d.isoformat())),
    "ID": st.one_of(
        st.text(max_size=12),
        st.sampled_from(["pro_", "cus_", "job_", "ref_", "net_"]).flatmap(
            lambda p: st.text("abc019_-", min_size=1, max_size=8).map(lambda s: p + s)),
    ).map(nodes.String),
}


class Harness:
    """An app with its own event loop and driver (hypothesis runs a sync test)."""

    def __init__(self, bolt: Any, settings_: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = connect(bolt.uri, bolt.user, bolt.password, bolt.database)
        app = create_app(settings_, store=self.store)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://fuzz")
        self.token = mint(settings_, "admin", "admin:fuzz")

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def post(self, query: str) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query},
                                    headers={"authorization": f"Bearer {self.token}"})

    async def counts(self) -> tuple[int, int]:
        row = (await self.store.read(COUNTS))[0]
        return row["nodes"], row["links"]

    def close(self) -> None:
        self.run(self.http.aclose())
        self.run(self.store.close())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(bolt: Any, settings: Any) -> Iterator[Harness]:
    h = Harness(bolt, settings)
    yield h
    h.close()


def check_errors(body: dict[str, Any], query: str) -> list[dict[str, Any]]:
    errors = body.get("errors") or []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        # Our own errors carry a code; GraphQL's validation errors (bad literals) carry none.
        assert code != "INTERNAL", (query, error)
        assert "Traceback" not in error["message"] and "neo4j" not in error["message"].lower()
    return errors


def payload_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict):
            found += value.get("errors") or []
    return found


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])


@FUZZ
@given(query=from_schema(SCHEMA, custom_scalars=SCALARS, allow_x00=True))
def test_queries(harness: Harness, query: str) -> None:
    if cast(OperationDefinitionNode, parse(query).definitions[0]).operation.value != "query":
        return
    response = harness.run(harness.post(query))
    assert response.status_code < 500, query
    check_errors(response.json(), query)


@pytest.mark.parametrize("field", MUTATION_FIELDS)
def test_mutations(harness: Harness, field: str) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(query=mutations(SCHEMA, fields=[field], custom_scalars=SCALARS, allow_x00=True))
    def run(query: str) -> None:
        before = harness.run(harness.counts())
        response = harness.run(harness.post(query))
        assert response.status_code < 500, query
        body = response.json()
        errors = check_errors(body, query) + payload_errors(body)
        for error in payload_errors(body):
            # The generated selection may leave out `code`; when it is there, it is ours.
            assert error.get("code", "VALIDATION") in KNOWN_CODES, (query, error)
        if errors:
            assert harness.run(harness.counts()) == before, ("wrote despite an error", query)

    run()
