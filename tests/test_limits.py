"""Limits on requests: size, shape, rate and time; production hardening; masked faults."""

from __future__ import annotations

import logging

import httpx
import pytest
import strawberry

from app.main import create_app
from app.settings import Settings
from graph import models
from schema.errors import ErrorMasking
from tests.conftest import GraphQLClient

JOBS = "query($id: ID!, $n: Int) { professional(id: $id) { jobs(first: $n) { totalCount } } }"


async def test_a_limit_fails_before_the_store_is_touched(gql, make, store):
    pro = await make.professional()
    before = store.round_trips
    body = await gql.post(JOBS, {"id": pro, "n": 101})
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION", "limit": "first"}
    assert "first must be between 1 and 100" in error["message"]
    assert store.round_trips == before
    inline = await gql.post("{ networks(first: 1000) { totalCount } }")
    assert inline["errors"][0]["extensions"]["limit"] == "first"
    fragment = await gql.post(
        "query { ...F } fragment F on Query { customers(first: 0) { totalCount } }")
    assert fragment["errors"][0]["extensions"]["limit"] == "first"
    assert "errors" not in await gql.post(JOBS, {"id": pro, "n": 100})


async def test_token_count_is_limited(gql, settings):
    huge = "{ " + " ".join("__typename" for _ in range(settings.max_tokens)) + " }"
    body = await gql.post(huge)
    assert "token" in body["errors"][0]["message"].lower()


async def test_batched_requests_are_refused(http, gql):
    response = await http.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}],
        headers={"authorization": f"Bearer {gql.token}"},
    )
    assert response.status_code == 400


def production(settings: Settings, **overrides: object) -> Settings:
    return settings.with_overrides(env="production", **overrides)


async def client_for(app, token: str | None) -> GraphQLClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return GraphQLClient(http, token)


async def test_production_turns_off_introspection_and_graphiql(store, settings, gql):
    app = create_app(production(settings), store=store)
    client = await client_for(app, gql.token)
    async with client.http:
        body = await client.post("{ __schema { types { name } } }")
        assert "introspection" in body["errors"][0]["message"].lower()
        page = await client.http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404
        assert (await client.post("{ __typename }"))["data"] == {"__typename": "Query"}


def test_production_needs_a_real_secret(store, settings):
    with pytest.raises(ValueError, match="RG_AUTH_SECRET"):
        create_app(production(settings, auth_secret="short"), store=store)
    from dataclasses import replace

    with pytest.raises(ValueError, match="RG_AUTH_SECRET"):
        create_app(replace(production(settings), auth_secret=None), store=store)


async def test_rate_limit_per_token(store, settings, gql):
    app = create_app(settings.with_overrides(rate_limit=60, rate_burst=3), store=store)
    client = await client_for(app, gql.token)
    async with client.http:
        statuses = [(await client.raw("{ __typename }")).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        limited = await client.raw("{ __typename }")
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_request_timeout(store, settings, gql):
    app = create_app(settings.with_overrides(request_timeout=0.000001,
                                                       store_timeout=0.0000001), store=store)
    client = await client_for(app, gql.token)
    async with client.http:
        body = await client.post("{ networks { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"


def test_unexpected_errors_are_masked():
    @strawberry.type
    class Query:
        @strawberry.field
        def boom(self) -> int:
            raise RuntimeError("MATCH (n:Customer) RETURN n.secret: store said no")

    schema = strawberry.Schema(query=Query, extensions=[ErrorMasking])
    result = schema.execute_sync("{ boom }")
    assert [e.message for e in result.errors] == ["unexpected error"]
    assert result.errors[0].extensions == {"code": "INTERNAL"}
    assert "MATCH" not in str(result.errors[0].formatted)


async def test_omitted_variables_fall_back_to_defaults(gql):
    omitted = "query($n: Int) { networks(first: $n) { totalCount } }"
    assert "errors" not in await gql.post(omitted)
    with_default = "query($n: Int = 500) { networks(first: $n) { totalCount } }"
    assert (await gql.post(with_default))["errors"][0]["extensions"]["limit"] == "first"


CUSTOMER_JOBS = """query($c: ID!, $n: Int) { customer(id: $c) {
  jobs(first: $n) { totalCount nodes { id } } } }"""
CUSTOMER_JOBS_NULL = """query($c: ID!) { customer(id: $c) {
  jobs(first: null) { totalCount nodes { id } } } }"""
TRUSTED_NULL = """query($c: ID!, $l: Int, $h: Int) { customer(id: $c) {
  trustedProfessionals(limit: $l, maxHops: $h) { trust } } }"""


async def test_first_null_means_the_declared_default(gql, make):
    # Given more jobs than the default page of 20.
    cus, pro = await make.customer(), await make.professional()
    for day in range(1, 23):
        await make.job(cus, pro, completedAt=f"2026-01-{day:02d}T10:00:00+00:00")
    # When first is null, as a variable or a literal, then the page is the default size.
    for body in (await gql.post(CUSTOMER_JOBS, {"c": cus, "n": None}),
                 await gql.post(CUSTOMER_JOBS_NULL, {"c": cus})):
        assert "errors" not in body, body
        jobs = body["data"]["customer"]["jobs"]
        assert (jobs["totalCount"], len(jobs["nodes"])) == (22, 20)
    assert len((await gql.data(CUSTOMER_JOBS, {"c": cus, "n": 3}))["customer"]["jobs"]
               ["nodes"]) == 3
    assert "errors" not in await gql.post(TRUSTED_NULL, {"c": cus, "l": None, "h": None})


RECIPROCITY = """query($id: ID!, $since: DateTime, $until: DateTime) {
  professional(id: $id) { reciprocity(since: $since, until: $until) { given } } }"""


@pytest.mark.parametrize(("since", "until"), [
    ("0999-06-01T00:00:00+00:00", None),
    (None, "2201-01-01T00:00:00+00:00"),
    ("0001-01-01T00:00:00+01:00", None),
])
async def test_window_dates_outside_the_supported_years_are_refused(gql, make, since, until):
    pro = await make.professional()
    body = await gql.post(RECIPROCITY, {"id": pro, "since": since, "until": until})
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "1900 to 2200" in error["message"]
    ok = await gql.post(RECIPROCITY, {"id": pro, "since": "1900-01-01T00:00:00+00:00",
                                      "until": "2200-12-31T00:00:00+00:00"})
    assert "errors" not in ok


MUTATE_AND_READ = """mutation($input: CreateNetworkInput!, $since: DateTime, $until: DateTime) {
  createNetwork(input: $input) { network { id gaps(since: $since, until: $until) {
    topReferrerShare } } errors { code } } }"""


@pytest.mark.parametrize(("since", "until"), [
    ("2026-01-01T00:00:00", None),  # no UTC offset
    ("2026-03-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"),  # since after until
    ("0999-03-01T00:00:00+00:00", None),  # outside the supported years
])
async def test_bad_arguments_in_a_mutations_selection_fail_before_the_write(gql, uid, exists,
                                                                            since, until):
    nid = uid("net")
    body = await gql.post(MUTATE_AND_READ, {"input": {"id": nid, "name": "Never"},
                                            "since": since, "until": until})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert not await exists(nid)


CLIENT_MISTAKES = [
    ("{ nope }", {}),  # validation
    ("{ networks(first: 101) { totalCount } }", {}),  # argument limit
    ("query($n: Int) { networks(first: $n) { totalCount } }", {"n": 1.5}),  # variable type
    ("query($d: DateTime) { professional(id: \"pro_x\") { reciprocity(since: $d) { given } } }",
     {"d": "yesterday"}),  # bad date
    ("{ networks(first: 1 }", {}),  # syntax
]


async def test_client_mistakes_are_logged_at_info_without_a_traceback(gql, caplog):
    caplog.set_level(logging.DEBUG)
    for query, variables in CLIENT_MISTAKES:
        assert "errors" in await gql.post(query, variables)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert any(r.name == "referral_graph.errors" and r.levelno == logging.INFO
               for r in caplog.records)


async def test_a_fault_is_logged_once_at_error_with_its_traceback(gql, make, caplog,
                                                                  monkeypatch):
    cus = await make.customer()

    def broken(cls: type, row: dict) -> None:
        raise RuntimeError("cannot read the customer")

    monkeypatch.setattr(models.Customer, "from_row", classmethod(broken))
    caplog.set_level(logging.DEBUG)
    body = await gql.post("query($id: ID!) { customer(id: $id) { name } }", {"id": cus})
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.getMessage()) for r in errors] == [
        ("referral_graph.errors", "unexpected error")]
    assert "cannot read the customer" in logging.Formatter().formatException(errors[0].exc_info)
