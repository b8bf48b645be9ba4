"""Health endpoints, limits on query shape, settings and the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.settings import SettingsError, load_settings


async def test_healthz_and_readyz(gql):
    assert (await gql.http.get("/healthz")).status_code == 200
    ready = await gql.http.get("/readyz")
    assert ready.status_code == 200 and ready.text == "ready"


async def test_graphiql_is_served_to_browsers(gql):
    page = await gql.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_query_depth_is_limited(gql, settings):
    def query(levels: int) -> str:
        # Each level: referee -> jobs -> nodes -> professional -> referralsReceived -> nodes.
        inner = "id"
        for _ in range(levels):
            inner = ("referee { jobs { nodes { professional { referralsReceived { nodes { "
                     + inner + " } } } } } }")
        return "{ referrals { nodes { " + inner + " } } }"

    body = await gql.post(query(3))
    assert "depth" in body["errors"][0]["message"].lower()
    assert "errors" not in await gql.post(query(1))


async def test_aliases_are_limited(gql, settings):
    many = " ".join(f"a{i}: __typename" for i in range(settings.max_aliases + 1))
    body = await gql.post("{ " + many + " }")
    assert "alias" in body["errors"][0]["message"].lower()
    fine = " ".join(f"a{i}: __typename" for i in range(settings.max_aliases))
    assert "errors" not in await gql.post("{ " + fine + " }")


async def test_explicit_null_first_means_the_default(gql, make):
    await make.customer()
    body = await gql.data("{ customers(first: null) { totalCount nodes { id } } }")
    assert len(body["customers"]["nodes"]) == min(20, body["customers"]["totalCount"])


def test_settings_come_from_the_environment():
    s = load_settings({"NEO4J_URI": "neo4j://db:7687", "RG_PORT": "9000", "RG_MAX_DEPTH": "7"})
    assert (s.neo4j_uri, s.port, s.max_depth, s.embedded) == ("neo4j://db:7687", 9000, 7, False)
    assert load_settings({}).embedded
    with pytest.raises(SettingsError, match="RG_PORT"):
        load_settings({"RG_PORT": "eighty"})


def test_cli_exports_the_schema(tmp_path):
    target = tmp_path / "schema.graphql"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "export-schema", "--output", str(target)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "type Referral implements Node" in target.read_text()
