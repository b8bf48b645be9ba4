"""Argument rules live in one registry (graph.rules.ARGUMENT_RULES) and apply per field, by the
field's coordinates, wherever the operation selects it."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType

from app.settings import Settings
from graph.rules import ARGUMENT_RULES
from schema.build import build_schema

# Arguments whose values have a rule beyond their GraphQL type.
RULED = {"first", "after", "limit", "maxHops", "since", "until", "trade", "months", "minGap",
         "minScore"}


def _arguments() -> dict[str, set[str]]:
    schema = build_schema(Settings())._schema
    found = {}
    for name, t in schema.type_map.items():
        if name.startswith("__") or not isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field, definition in t.fields.items():
            found[f"{name}.{field}"] = set(definition.args)
    return found


def test_every_ruled_argument_of_the_schema_has_its_rule_and_no_rule_is_stray():
    arguments = _arguments()
    for coordinates, rules in ARGUMENT_RULES.items():
        assert coordinates in arguments, coordinates
        assert set(rules) <= arguments[coordinates], coordinates
    for coordinates, names in arguments.items():
        assert names & RULED <= set(ARGUMENT_RULES.get(coordinates, {})), coordinates


TREND_THROUGH_NODE = """
query($id: ID!, $months: Int) { node(id: $id) { ...Trend } }
fragment Trend on Professional { trend: reciprocityTrend(months: $months) { month } }
"""
WINDOW_IN_UNION = """
query($id: ID!) { referral(id: $id) { referrer {
  ... on Professional { reciprocity(since: "2026-02-01T00:00:00+00:00",
                                    until: "2026-01-01T00:00:00+00:00") { given } }
} } }
"""


async def test_a_rule_applies_to_its_field_through_fragments_aliases_and_unions(gql, make):
    pro = await make.professional()
    body = await gql.post(TREND_THROUGH_NODE, {"id": pro, "months": 0})
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "months on reciprocityTrend: must be between 1 and 120")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": "months"}
    good = await gql.data(TREND_THROUGH_NODE, {"id": pro, "months": 2})
    assert len(good["node"]["trend"]) == 2

    referral = await make.referral(pro, await make.professional(), await make.customer())
    body = await gql.post(WINDOW_IN_UNION, {"id": referral})
    assert body["errors"][0]["message"] == "since must be before until (on reciprocity)"
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": "until"}


async def test_of_two_bad_arguments_the_first_in_the_document_answers(gql):
    # The registry lists first before after; the error names the one the document sends first.
    body = await gql.post('{ professionals(after: "nope", first: 0) { totalCount } }')
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [
        "after on professionals: after is not a cursor from this service"]
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": "after"}
    body = await gql.post('{ professionals(first: 0, after: "nope") { totalCount } }')
    assert [e["message"] for e in body["errors"]] == [
        "first must be between 1 and 100, got 0 (limit first on professionals)"]
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "limit": "first"}
