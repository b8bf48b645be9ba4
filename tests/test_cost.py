"""The query cost limit and the document size limit: refused before anything runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
    validate,
)

from app.settings import Settings, SettingsError, load_settings
from schema.build import build_schema
from schema.cost import operation_cost

ROOT = Path(__file__).resolve().parent.parent


def nested_members(levels: int, first: int = 100) -> str:
    inner = "id name"
    for _ in range(levels):
        inner = f"networks {{ members(first: {first}) {{ nodes {{ {inner} }} }} }}"
    return f"{{ professionals(first: {first}) {{ nodes {{ {inner} }} }} }}"


def cost_of(query: str, variables: dict | None = None) -> int:
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return operation_cost(build_schema(Settings())._schema, operation, fragments, variables)


@pytest.mark.parametrize(("query", "variables", "expected"), [
    # A connection counts itself and its page; objects count one per row above them.
    ("{ customers(first: 10) { nodes { id name } } }", None, 1 + 10),
    # Omitted `first` counts the argument's schema default (20); null does too.
    ("{ customers { nodes { id } } }", None, 1 + 20),
    ("query($n: Int) { customers(first: $n) { nodes { id } } }", {"n": None}, 1 + 20),
    ("query($n: Int = 7) { customers(first: $n) { nodes { id } } }", None, 1 + 7),
    ("query($n: Int) { customers(first: $n) { edges { node { id } } } }", {"n": 5}, 1 + 5 + 5),
    # Nested lists multiply: 2 professionals x 5 networks (estimate) x (1 + 3 members).
    ("{ professionals(first: 2) { nodes { networks { members(first: 3) { nodes { id } } } } } }",
     None, 1 + 2 + 2 * 5 + 2 * 5 * (1 + 3)),
    # Fragments count where they are spread; scalars and introspection cost nothing.
    ("query { ...F ...F __schema { types { name } } } "
     "fragment F on Query { networks(first: 4) { totalCount nodes { id } } }", None, 2 * (1 + 4)),
])
def test_cost_counts_rows_with_nested_sizes_multiplied(query, variables, expected):
    assert cost_of(query, variables) == expected


def documented_queries() -> list[tuple[str, str]]:
    """(where, text) of every GraphQL operation written out in the README (```graphql blocks),
    the tests and the scripts (string constants that parse and validate)."""
    schema = build_schema(Settings())._schema
    found: list[tuple[str, str]] = []
    readme = (ROOT / "README.md").read_text()
    found += [("README.md", m.group(1))
              for m in re.finditer(r"```graphql\n(.*?)```", readme, re.S)]
    for path in sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "scripts").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "{" in node.value:
                found.append((f"{path.name}:{node.lineno}", node.value))
    queries = []
    for where, text in found:
        try:
            document = parse(text)
        except GraphQLSyntaxError:
            continue
        if not validate(schema, document):
            queries.append((where, text))
    return queries


def test_the_readme_and_realistic_queries_fit_the_default(settings):
    realistic = [
        nested_members(1, first=20),
        "{ referrals(first: 100) { nodes { id referrer { __typename } professional { id "
        "jobs(first: 100) { nodes { id customer { id } } } } } } }",
        # A client's screen of algorithm results: the heaviest of each, together.
        "{ trustPaths(from: \"cus_a\", to: \"pro_b\", limit: 10, maxHops: 6) { trust hops { "
        "relation trust from { __typename } to { __typename } job { id } referral { id } } } "
        "customer(id: \"cus_a\") { trustedProfessionals(limit: 50, maxHops: 6) { trust "
        "professional { id } path { trust } } } "
        "professional(id: \"pro_b\") { partnerRecommendations(limit: 50) { score partner { id } "
        "} } network(id: \"net_c\") { imbalancedPairs { gap } gaps { missingTrades { trade "
        "candidates(limit: 20) { id } } passiveMembers { id } } } }",
    ]
    schema = build_schema(Settings())._schema
    assert all(not validate(schema, parse(q)) for q in realistic)
    assert all(cost_of(q) <= settings.max_cost for q in realistic)
    documented = documented_queries()
    assert len(documented) > 100  # the collector finds them
    assert any("trustPaths" in q for _, q in documented)
    too_costly = [(where, cost_of(q)) for where, q in documented
                  if cost_of(q) > settings.max_cost]
    assert too_costly == []


def aliased(field: str, count: int) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


TRUST_SEARCH = 'trustPaths(from: "cus_a", to: "pro_b", maxHops: 6) { trust }'
PARTNERS = 'professional(id: "pro_b") { partnerRecommendations { score } }'


@pytest.mark.parametrize(("field", "weight", "rows"), [
    (TRUST_SEARCH, 1500, 3),
    ('customer(id: "cus_a") { trustedProfessionals { trust } }', 1500, 1 + 10),
    (PARTNERS, 1500, 1 + 10),
    ('network(id: "net_c") { gaps { passiveMembers { id } } }', 2500, 1 + 1 + 50),
    ('network(id: "net_c") { imbalancedPairs { gap } }', 1000, 1 + 20),
], ids=["trustPaths", "trustedProfessionals", "partnerRecommendations", "gaps",
        "imbalancedPairs"])
def test_algorithm_fields_cost_their_weight_per_call(field, weight, rows):
    assert cost_of(aliased(field, 1)) == weight + rows
    assert cost_of(aliased(field, 3)) == 3 * (weight + rows)
    # Under a list, once per row: 2 professionals, each ranked.
    assert cost_of("{ professionals(first: 2) { nodes { partnerRecommendations { score } } } }"
                   ) == 1 + 2 + 2 * (1500 + 10)


@pytest.mark.parametrize("field", [TRUST_SEARCH, PARTNERS], ids=["trustPaths", "partners"])
async def test_a_few_dozen_aliased_algorithm_calls_are_refused(gql, store, settings, field):
    assert cost_of(aliased(field, 20)) > settings.max_cost
    before = store.round_trips
    body = (await gql.raw(aliased(field, 20))).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["limit"] == "cost"
    assert store.round_trips == before
    assert cost_of(aliased(field, 5)) <= settings.max_cost


async def test_nested_lists_are_refused_before_execution_with_the_cost_named(gql, store,
                                                                            settings):
    before = store.round_trips
    body = (await gql.raw(nested_members(4))).json()  # whatever the status
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["limit"] == "cost"
    assert error["extensions"]["maxCost"] == settings.max_cost
    cost = error["extensions"]["cost"]
    assert cost == cost_of(nested_members(4)) > 10**12
    assert f"query cost {cost} exceeds the limit of {settings.max_cost}" in error["message"]
    assert store.round_trips == before
    assert "errors" not in await gql.post(nested_members(1, first=20))


async def test_a_variable_page_size_counts_and_the_limit_is_configurable(store, settings, gql):
    from app.main import create_app
    from tests.test_limits import client_for

    query = "query($n: Int) { professionals(first: $n) { nodes { id } } }"
    client = await client_for(create_app(settings.with_overrides(max_cost=50), store=store),
                              gql.token)
    async with client.http:
        refused = (await client.raw(query, {"n": 60})).json()
        assert refused["errors"][0]["extensions"] == {
            "code": "VALIDATION", "limit": "cost", "cost": 61, "maxCost": 50}
        assert "errors" not in await client.post(query, {"n": 40})


async def test_a_cached_cost_follows_the_page_sizes_sent(store, settings, gql):
    """Costs are kept per document and integer variables: the same document asked again with
    a larger page, or with its variable's default, is weighed again."""
    from app.main import create_app
    from tests.test_limits import client_for

    query = ("query($n: Int = 70, $t: String) "
             "{ professionals(first: $n, trade: $t) { nodes { id } } }")
    client = await client_for(create_app(settings.with_overrides(max_cost=50), store=store),
                              gql.token)
    async with client.http:
        for _ in range(2):
            assert "errors" not in await client.post(query, {"n": 40, "t": "plumbing"})
        refused = (await client.raw(query, {"n": 60, "t": "plumbing"})).json()
        assert refused["errors"][0]["extensions"]["cost"] == 61
        # Absent, the variable's default (70) counts; sent as null, the argument's own (20).
        assert (await client.raw(query, {"t": "roofing"})).json()["errors"][0]["extensions"][
            "cost"] == 71
        assert "errors" not in await client.post(query, {"n": None, "t": "roofing"})


async def test_a_document_is_limited_by_characters_comments_included(gql, settings):
    padding = "#" + "x" * settings.max_document_chars + "\n"
    body = (await gql.raw(padding + "{ __typename }")).json()
    error = body["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION", "limit": "document",
                                   "maxChars": settings.max_document_chars}
    assert f"limit of {settings.max_document_chars}" in error["message"]
    spaces = "{ __typename " + " " * settings.max_document_chars + "}"
    assert (await gql.raw(spaces)).json()["errors"][0]["extensions"]["limit"] == "document"
    small_comment = "# a comment\n{ __typename }"
    assert (await gql.post(small_comment))["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("name", ["RG_MAX_COST", "RG_MAX_BODY_BYTES", "RG_MAX_DOCUMENT_CHARS",
                                  "RG_ANALYTICS_TIMEOUT"])
def test_the_limits_must_be_positive(name):
    with pytest.raises(SettingsError, match=name):
        load_settings({name: "0"})
    assert load_settings({name: "7"}) is not None
