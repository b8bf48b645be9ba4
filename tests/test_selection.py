"""The walk over an operation that the pre-execution checks share (schema/selection.py), and the
argument rules they apply (graph/rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

from app.settings import Settings
from graph.errors import ValidationError
from graph.rules import Bounded, check_window, is_integer, window_problem
from schema.build import build_schema
from schema.selection import argument_value, typed_fields, variable_defaults

SCHEMA = build_schema(Settings())._schema

DOCUMENT = """
query($id: ID!, $n: Int = 3) {
  node(id: $id) { ... on Professional { name ...Jobs ...Jobs } }
  referral(id: $id) { referrer { ... on Customer { displayName } ... on Professional { id } } }
}
fragment Jobs on Professional { jobs(first: $n) { nodes { trade } } }
"""


def _parsed(text: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    document = parse(text)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    return operation, fragments


def test_typed_fields_name_each_field_with_the_type_it_is_selected_on():
    operation, fragments = _parsed(DOCUMENT)
    found = [(None if kind is None else kind.name, node.name.value) for kind, node in
             typed_fields(SCHEMA, operation.selection_set, SCHEMA.query_type, fragments)]
    # Inline fragments and spreads take their type conditions; a fragment spread twice is
    # walked once; a union's members come from their own inline fragments.
    assert found == [
        ("Query", "node"), ("Professional", "name"), ("Professional", "jobs"),
        ("JobConnection", "nodes"), ("Job", "trade"),
        ("Query", "referral"), ("Referral", "referrer"), ("Customer", "displayName"),
        ("Professional", "id"),
    ]


def test_without_deep_only_the_top_level_and_without_a_schema_no_types():
    operation, fragments = _parsed(DOCUMENT)
    top = list(typed_fields(None, operation.selection_set, None, fragments, deep=False))
    assert [(kind, node.name.value) for kind, node in top] == [(None, "node"),
                                                               (None, "referral")]


def _jobs_field(text: str) -> tuple[FieldNode, dict]:
    operation, fragments = _parsed(text)
    for _, node in typed_fields(SCHEMA, operation.selection_set, SCHEMA.query_type, fragments):
        if node.name.value == "jobs":
            return node, variable_defaults(operation)
    raise AssertionError("no jobs field")


@pytest.mark.parametrize(("variables", "expected"), [
    ({}, 3),  # the variable's declared default
    ({"n": 9}, 9),
    ({"n": None}, None),  # sent as null: the argument's own default applies
])
def test_argument_value_reads_variables_then_their_defaults(variables, expected):
    node, defaults = _jobs_field(DOCUMENT)
    assert argument_value(node, "first", variables, defaults) == expected
    assert argument_value(node, "after", variables, defaults) is None  # not sent


def test_argument_value_reads_literals():
    node, defaults = _jobs_field(
        '{ professional(id: "x") { jobs(first: 4, after: "c") { totalCount } } }')
    assert argument_value(node, "first", {}, defaults) == 4
    assert argument_value(node, "after", {}, defaults) == "c"


def test_a_bounded_argument_lies_in_one_to_its_maximum():
    first = Bounded("first")
    assert first.problem(0, 100) == "must be between 1 and 100, got 0"
    assert first.problem(101, 100) == "must be between 1 and 100, got 101"
    # Fine, or not this rule's to refuse: null means the default, other types fail coercion.
    for value in (1, 100, None, "7", True, 2.5):
        assert first.problem(value, 100) is None
    assert [is_integer(v) for v in (0, -3, True, None, 1.0)] == [True, True, False, False, False]


def test_the_api_and_the_domain_refuse_a_window_out_of_order_with_the_same_words():
    since, until = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    problem = window_problem(since.isoformat(), until.isoformat())
    assert problem == "since must be before until"
    with pytest.raises(ValidationError) as refused:
        check_window(since, until)
    assert refused.value.message == problem
    assert window_problem(until.isoformat(), since.isoformat()) is None
    assert window_problem(since.isoformat(), None) is None
    assert window_problem("not a date", until.isoformat()) is None  # the scalar refuses it
