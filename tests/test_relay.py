"""Relay compiles paginated, refetchable fragments against the served schema."""

from __future__ import annotations

import json
import subprocess

import pytest

from app.settings import Settings
from schema.build import build_schema
from tests.clients import npm_packages

PAGE = """query($pro: ID!, $first: Int, $after: String) {
  professional(id: $pro) { referralsReceived(first: $first, after: $after) {
    pageInfo { hasPreviousPage startCursor hasNextPage endCursor } edges { cursor } } }
}"""

PROFESSIONALS = """
import { graphql } from 'react-relay';

export const listQuery = graphql`
  query ProfessionalsListQuery($trade: String) {
    ...ProfessionalsList_query @arguments(trade: $trade)
  }
`;

// What usePaginationFragment is given: refetchable, with its page arguments, on a connection.
export const listFragment = graphql`
  fragment ProfessionalsList_query on Query
  @refetchable(queryName: "ProfessionalsListPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 20 }
    after: { type: "String" }
    trade: { type: "String" }
  ) {
    professionals(first: $first, after: $after, trade: $trade)
    @connection(key: "ProfessionalsList_professionals", filters: ["trade"]) {
      totalCount
      edges { node { id name ...ReferralsReceived_professional } }
    }
  }
`;
"""

REFERRALS = """
import { graphql } from 'react-relay';

// Refetchable on a Node type: Relay refetches it through Query.node(id:).
export const referralsFragment = graphql`
  fragment ReferralsReceived_professional on Professional
  @refetchable(queryName: "ReferralsReceivedPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 10 }
    cursor: { type: "String" }
  ) {
    id
    referralsReceived(first: $count, after: $cursor)
    @connection(key: "ReferralsReceived_referralsReceived") {
      edges { node { id status } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;
"""


async def test_page_info_has_relays_previous_page_and_start_cursor(gql, make):
    pro = await make.professional()
    referrer = await make.customer()
    for _ in range(3):
        await make.referral(referrer, pro, await make.customer())
    first = (await gql.data(PAGE, {"pro": pro, "first": 2}))["professional"]
    first = first["referralsReceived"]
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    after = first["pageInfo"]["endCursor"]
    second = (await gql.data(PAGE, {"pro": pro, "first": 2, "after": after}))["professional"]
    second = second["referralsReceived"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["startCursor"] == second["edges"][0]["cursor"]
    assert second["pageInfo"]["hasNextPage"] is False
    # Past the end: no edges, so no cursors, but rows still precede the page.
    past = second["pageInfo"]["endCursor"]
    empty = (await gql.data(PAGE, {"pro": pro, "first": 2, "after": past}))["professional"]
    empty = empty["referralsReceived"]["pageInfo"]
    assert empty == {"hasPreviousPage": True, "startCursor": None, "hasNextPage": False,
                     "endCursor": None}


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory):
    return npm_packages(tmp_path_factory, "relay-compiler", "graphql")


def test_relay_compiles_connections_and_refetchable_fragments(relay, tmp_path):
    (tmp_path / "schema.graphql").write_text(build_schema(Settings()).as_str())
    src = tmp_path / "src"
    src.mkdir()
    artifacts = tmp_path / "__generated__"
    artifacts.mkdir()
    (src / "ProfessionalsList.js").write_text(PROFESSIONALS)
    (src / "ReferralsReceived.js").write_text(REFERRALS)
    (tmp_path / "relay.config.json").write_text(json.dumps({
        "src": "./src", "schema": "./schema.graphql", "language": "javascript",
        "artifactDirectory": "./__generated__",
    }))
    run = subprocess.run(
        [str(relay / "node_modules" / ".bin" / "relay-compiler")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    generated = {p.name for p in artifacts.iterdir()}
    assert {"ProfessionalsListQuery.graphql.js", "ProfessionalsList_query.graphql.js",
            "ProfessionalsListPaginationQuery.graphql.js",
            "ReferralsReceived_professional.graphql.js",
            "ReferralsReceivedPaginationQuery.graphql.js"} <= generated
    pagination = artifacts / "ReferralsReceivedPaginationQuery.graphql.js"
    assert "node(id: $id)" in pagination.read_text().replace('"', "")
