"""The documents that scripts/pages_benchmark.py reads out of the shipped pages: the reader of
the pages' string constants, and that what it reads from network.js and trust.js is what the
served schema accepts. No store and no browser."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from app.settings import Settings
from schema.build import build_schema
from schema.cost import operation_cost
from scripts.pages_benchmark import (
    NETWORK_PAGE,
    TRUST_PAGE,
    ParseError,
    operation_of,
    page_documents,
    string_constants,
)

SOURCE = r"""
(function () {
  'use strict';
  var R = window.RG;
  var PART = 'a { b }';  // a comment, with 'quotes'
  var JOINED = [
    'query Q { x',
    '  ' + PART + " y",
    /* a comment between items */ '  z }',
  ].join('\n');
  var ESCAPED = 'it\'s \u2019 \\ "q"' + "\x41";
  var COMMA = ['a', 'b'].join();
  var asked = 0;
  var LATER = UNKNOWN + 'x';
  function f() { var title = heading + ' to '; }
})();
"""


def test_reads_concatenations_joins_names_and_escapes():
    found = string_constants(SOURCE)
    assert found["PART"] == "a { b }"
    assert found["JOINED"] == "query Q { x\n  a { b } y\n  z }"
    assert found["ESCAPED"] == "it's \u2019 \\ \"q\"A"
    assert found["COMMA"] == "a,b"


def test_skips_what_is_not_a_string_expression():
    found = string_constants(SOURCE)
    # Not strings, or built from a name that is not a string constant defined before.
    for name in ("R", "asked", "LATER", "title"):
        assert name not in found


def test_a_constant_the_page_does_not_define_is_an_error(tmp_path, monkeypatch):
    import scripts.pages_benchmark as bench

    (tmp_path / "x.js").write_text("var OVERVIEW = 'query A { a }';\n")
    monkeypatch.setattr(bench, "PAGES", tmp_path)
    assert page_documents(("x.js", ("OVERVIEW",))) == {"OVERVIEW": "query A { a }"}
    with pytest.raises(ParseError, match="GAPS"):
        page_documents(("x.js", ("OVERVIEW", "GAPS")))


@pytest.mark.parametrize(("page", "operations"), [
    (NETWORK_PAGE, ["NetworkOverview", "NetworkMeasures", "NetworkGaps", "NetworkLeaderboard"]),
    (TRUST_PAGE, ["TrustOverview", "Trusted"]),
])
def test_each_page_document_is_valid_against_the_served_schema(page, operations):
    settings = Settings()
    schema = build_schema(settings)._schema
    docs = page_documents(page)
    names = []
    for document in docs.values():
        assert validate(schema, parse(document)) == []
        operation, fragments = operation_of(document)
        assert operation.name is not None
        names.append(operation.name.value)
        # The benchmark measures calls the service runs: none is refused for its cost.
        assert 0 < operation_cost(schema, operation, fragments, {}) <= settings.max_cost
    assert names == operations


def test_the_documents_are_the_pages_own_text():
    # The reader returns the page's text, not a rebuilt one: a line of the shipped source is
    # found as it is in the document.
    docs = page_documents(NETWORK_PAGE)
    assert "  members(first: 50) { totalCount nodes { id name trades area } }" in (
        docs["OVERVIEW"].splitlines())
    trusted = page_documents(TRUST_PAGE)["TRUSTED"]
    assert "trustedProfessionals(trade: $trade, limit: 10)" in trusted
    assert "... on Customer { id displayName }" in trusted  # PARTY, spliced in by name
