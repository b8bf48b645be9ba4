"""GraphQL over HTTP: client mistakes are client errors, and the spec's audit passes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from app.auth import mint
from tests.clients import live_server, npm_packages

PROFESSIONALS = "query($f: Int!) { professionals(first: $f) { totalCount } }"
BY_STATUS = "query($s: ReferralStatus) { referrals(status: $s, first: 1) { totalCount } }"
BY_TRADE = "query($t: String) { professionals(trade: $t, first: 1) { totalCount } }"
SINCE = """query($since: DateTime) {
  networks(first: 1) { nodes { reciprocity(since: $since) { referrals } } } }"""
CREATE = """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } errors { code } } }"""
TYPENAME = {"query": "{ __typename }"}
GRAPHQL_RESPONSE = "application/graphql-response+json"


def headers(token: str, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **extra}


@pytest.mark.parametrize(("query", "variables", "says"), [
    (PROFESSIONALS, {}, "Expected a value of non-null type 'Int!'"),
    (PROFESSIONALS, {"f": "ten"}, "Int cannot represent non-integer value: 'ten'"),
    (PROFESSIONALS, {"f": 1.5}, "Int cannot represent non-integer value: 1.5"),
    (BY_STATUS, {"s": "MAYBE"}, "Value 'MAYBE' does not exist in 'ReferralStatus' enum"),
    (SINCE, {"since": "last tuesday"}, "cannot represent a DateTime"),
    (CREATE, {"input": {"name": 5}}, "String cannot represent a non string value"),
], ids=["missing", "wrong-type", "float-for-int", "unknown-enum", "bad-date", "nested-input"])
async def test_a_malformed_variable_is_a_validation_error_with_the_parsers_message(
        gql, query, variables, says):
    body = await gql.post(query, variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert says in error["message"] and error["message"].startswith("Variable '$")
    assert body["data"] is None


async def test_a_lone_surrogate_in_a_variable_is_a_validation_error(http, gql):
    # Valid JSON (an escaped lone surrogate), but not Unicode text.
    raw = json.dumps({"query": BY_TRADE, "variables": {"t": "plumb\ud800ing"}})
    response = await http.post("/graphql", content=raw, headers=headers(
        gql.token, **{"content-type": "application/json"}))
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"].startswith("Variable '$t' has invalid value")
    assert "U+D800" in error["message"]


async def test_a_lone_surrogate_deep_in_an_input_names_the_path(http, gql, exists):
    raw = json.dumps({"query": CREATE, "variables": {"input": {"name": "\udc00x"}}})
    response = await http.post("/graphql", content=raw, headers=headers(
        gql.token, **{"content-type": "application/json"}))
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "Variable '$input' has invalid value at .name" in error["message"]
    assert response.json()["data"] is None  # nothing ran, so nothing was written


async def test_a_lone_surrogate_in_a_list_item_or_the_operation_name_is_refused(http, gql):
    raw = json.dumps({"query": "query($t: [String]) { __typename }",
                      "variables": {"t": ["ok", "\udfff"]}})
    response = await http.post("/graphql", content=raw, headers=headers(
        gql.token, **{"content-type": "application/json"}))
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"].startswith("Variable '$t' has invalid value at [1]")
    raw = json.dumps({"query": "query Q { __typename }", "operationName": "Q\ud800"})
    response = await http.post("/graphql", content=raw, headers=headers(
        gql.token, **{"content-type": "application/json"}))
    assert response.status_code == 400
    assert "lone surrogate" in response.json()["errors"][0]["message"]


async def test_a_good_variable_still_works(gql):
    body = await gql.post(PROFESSIONALS, {"f": 1})
    assert "errors" not in body
    assert body["data"]["professionals"]["totalCount"] >= 0


DEEP_VARIABLES = (b'{"query": "query($t: String) { __typename }", "variables": {"t": '
                  + b"[" * 100_000 + b"]" * 100_000 + b"}}")


@pytest.mark.parametrize(("body", "says"), [
    (b"null", "must be a JSON object, not null"),
    (b'"abc"', "must be a JSON object, not a string"),
    (b"[]", "must be a JSON object, not an array"),
    (b"42", "must be a JSON object, not a number"),
    (b'{"query": "{ __typename }", "x": "\xff\xfe"}', "not UTF-8"),
    (b'{"query": "{ __typename }"', "not JSON"),
    (b"", "empty"),
    (DEEP_VARIABLES, "nested too deeply"),
    (b'{"query": 5}', "`query` must be a string"),
    (b'{"query": "{ __typename }", "variables": "x"}', "`variables` must be an object"),
    (b'{"query": "{ __typename }", "operationName": 1}', "`operationName` must be a string"),
    (b'{"query": "{ __typename }", "extensions": []}', "`extensions` must be an object"),
], ids=["null", "string", "array", "number", "non-utf8", "invalid-json", "empty", "deep",
        "query-number", "variables-string", "operation-name-number", "extensions-array"])
async def test_a_malformed_body_gets_400_with_a_json_error(http, gql, body, says):
    response = await http.post("/graphql", content=body, headers=headers(
        gql.token, **{"content-type": "application/json"}))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert says in error["message"]
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_a_body_that_is_not_json_by_its_type_gets_415(http, gql):
    response = await http.post("/graphql", content=json.dumps(TYPENAME), headers=headers(
        gql.token, **{"content-type": "text/plain"}))
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    latin = await http.post("/graphql", content=json.dumps(TYPENAME), headers=headers(
        gql.token, **{"content-type": "application/json; charset=latin-1"}))
    assert latin.status_code == 415
    utf8 = await http.post("/graphql", content=json.dumps(TYPENAME), headers=headers(
        gql.token, **{"content-type": "application/json; charset=UTF-8"}))
    assert utf8.status_code == 200


async def test_graphql_response_json_gets_400_for_request_errors_and_no_data(http, gql):
    accept = {"accept": GRAPHQL_RESPONSE, "content-type": "application/json"}
    for query, variables in [("{", None), ("{ nope }", None), (PROFESSIONALS, {"f": 1.5})]:
        response = await http.post("/graphql", json={"query": query, "variables": variables},
                                   headers=headers(gql.token, **accept))
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in response.json() and response.json()["errors"]
    ok = await http.post("/graphql", json={"query": PROFESSIONALS, "variables": {"f": 1}},
                         headers=headers(gql.token, **accept))
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ok.json()["data"]["professionals"]["totalCount"] >= 0


async def test_application_json_keeps_200_for_request_errors(http, gql):
    response = await http.post("/graphql", json={"query": "{ nope }"}, headers=headers(
        gql.token, accept="application/json"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"]


async def test_accept_negotiation(http, gql):
    async def media(accept: str) -> tuple[int, str]:
        response = await http.post("/graphql", json=TYPENAME, headers=headers(
            gql.token, accept=accept))
        return response.status_code, response.headers["content-type"]

    assert await media("*/*") == (200, "application/json")
    assert (await media(f"application/json;q=0.5, {GRAPHQL_RESPONSE}"))[1] == GRAPHQL_RESPONSE
    assert (await media(f"{GRAPHQL_RESPONSE};q=0.2, application/json"))[1] == "application/json"
    status, _ = await media("image/png")
    assert status == 406


async def test_queries_run_over_get_and_mutations_are_refused_with_405(http, gql, uid):
    response = await http.get("/graphql", params={
        "query": PROFESSIONALS, "variables": json.dumps({"f": 1})},
        headers=headers(gql.token, accept="application/json"))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["professionals"]["totalCount"] >= 0
    name = f"Get Mutation {uid('cus')}"
    refused = await http.get("/graphql", params={
        "query": CREATE, "variables": json.dumps({"input": {"name": name}})},
        headers=headers(gql.token, accept="application/json"))
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert "POST" in refused.json()["errors"][0]["message"]
    found = await gql.data("{ customers(first: 100) { nodes { name } } }")
    assert name not in [c["name"] for c in found["customers"]["nodes"]]


async def test_bad_json_in_get_variables_gets_400(http, gql):
    for variables in ["{nope", "[" * 20_000]:
        response = await http.get("/graphql", params={"query": PROFESSIONALS,
                                                       "variables": variables},
                                  headers=headers(gql.token, accept="application/json"))
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


AUDIT = """
const { serverAudits } = require('graphql-http');
const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
(async () => {
  const results = [];
  for (const audit of serverAudits({ url, fetchFn })) {
    const r = await audit.fn();
    results.push({ id: r.id, name: r.name, status: r.status, reason: r.reason });
  }
  console.log(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def server(settings, bolt) -> Iterator[str]:
    with live_server(settings, bolt) as base:
        yield base


def test_the_graphql_over_http_audit_passes_without_errors_or_warnings(
        tmp_path_factory, tmp_path, server, settings):
    folder = npm_packages(tmp_path_factory, "graphql-http", "graphql")
    script = tmp_path / "audit.js"
    script.write_text(AUDIT)
    token = mint(settings, "admin")
    run = subprocess.run(
        ["node", str(script), f"{server}/graphql", token], capture_output=True, text=True,
        timeout=120, env={**os.environ, "NODE_PATH": str(folder / "node_modules")},
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert len(results) > 50
    failed = [r for r in results if r["status"] in ("error", "warn")]
    assert failed == []
    # The optional ones pass too, GET included.
    assert [r for r in results if r["status"] != "ok"] == []


@pytest.mark.parametrize("depth", [50, 900])
async def test_deep_variables_within_the_parsers_limit_are_a_validation_error(http, gql, depth):
    value = "[" * depth + '"x"' + "]" * depth
    raw = '{"query": "query($t: [String]) { __typename }", "variables": {"t": ' + value + "}}"
    response = await http.post("/graphql", content=raw, headers=headers(
        gql.token, **{"content-type": "application/json"}))
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"].startswith("Variable '$t'")


def test_answers_are_written_as_json_whatever_orjson_refuses(app):
    from app.main import GraphQLApp

    view = next(r.endpoint for r in app.routes if getattr(r, "path", None) == "/graphql")
    assert isinstance(view, GraphQLApp)
    answer = {"data": {"customer": {"name": "Zoë 🛠", "rating": 4.5, "ids": [1, None, True]}}}
    assert json.loads(view.encode_json(answer)) == answer
    # A lone surrogate (not Unicode text) and an integer past 64 bits: escaped and written by
    # the json module instead of failing the request.
    odd = {"data": {"note": "a\ud800b", "big": 2**70}}
    assert view.encode_json(odd) == b'{"data":{"note":"a\\ud800b","big":1180591620717411303424}}'
