"""Session fixtures: one real Bolt server for the whole run.

With ``NEO4J_URI`` set the suite runs against that server; otherwise it starts the embedded
ArcadeDB server in a temporary folder. Nothing here mocks the driver or the store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import mint
from app.main import create_app
from app.settings import Settings, load_settings
from graph.embedded import BoltAddress, EmbeddedServer
from graph.ids import PREFIXES, kind_of, new_id
from graph.migrations import migrate
from graph.store import Store, connect

# Notes every Cypher statement sent, for the Neo4j lint (tests/test_cypher_lint.py, run last).
# The webhook tests' receivers and fixtures (tests/receivers.py).
pytest_plugins = ["cypher_capture", "receivers"]


@pytest.fixture(scope="session")
def bolt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoltAddress]:
    settings = load_settings()
    if settings.neo4j_uri:
        yield BoltAddress(
            settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password,
            settings.neo4j_database,
        )
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("store"))
    address = server.start()
    yield address
    server.stop()


TEST_SECRET = "test-secret-of-the-suite-0123456789abcdef"
# Seals the webhook secrets the suite makes (a Fernet key; RG_WEBHOOK_KEY).
TEST_WEBHOOK_KEY = "h-sM-LIL51LxgEVo4PhFRMUX-mjQcI5rsKXjFM1ItBc="


@pytest.fixture(scope="session")
def settings() -> Settings:
    env = {k: v for k, v in os.environ.items() if k.startswith("RG_")}
    # A high rate limit: the suite's own traffic must not trip it (its own test lowers it).
    env.update({"RG_AUTH_SECRET": TEST_SECRET, "RG_WEBHOOK_KEY": TEST_WEBHOOK_KEY,
                "RG_RATE_LIMIT": "1000000",
                "RG_RATE_BURST": "100000", "RG_RATE_LIMIT_ADDRESS": "1000000",
                "RG_RATE_BURST_ADDRESS": "100000",
                # The sweep expires old referrals: tests that want it run it themselves.
                "RG_EVENT_SWEEP_INTERVAL": "0"})
    return load_settings(env)


def ensure_java() -> None:
    """Spark's driver needs Java 17 or later: installed from Debian when missing."""
    if shutil.which("java"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "openjdk-17-jre-headless"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the run: two cores, no web UI, two shuffle partitions."""
    ensure_java()
    from graph.spark.session import local

    session = local("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
async def store(bolt: BoltAddress) -> AsyncIterator[Store]:
    s = connect(bolt.uri, bolt.user, bolt.password, bolt.database)
    await s.ensure_schema()
    await migrate(s)
    yield s
    await s.close()


class GraphQLClient:
    """Posts GraphQL to the app in-process (ASGI), the way a frontend would over HTTP, with the
    bearer token of one principal (an admin unless said otherwise)."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a query that must succeed."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture(scope="session")
async def app(store: Store, settings: Settings) -> Any:
    return create_app(settings, store=store)


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def as_(http: httpx.AsyncClient, settings: Settings) -> Any:
    """A client acting as one principal: ``as_("customer", sub)``, ``as_(None)`` is anonymous."""

    def client(role: str | None, sub: str | None = None,
               networks: list[str] | None = None) -> GraphQLClient:
        token = None if role is None else mint(settings, role, sub, networks)
        return GraphQLClient(http, token)

    return client


@pytest.fixture
def gql(as_: Any) -> GraphQLClient:
    return as_("admin")


@pytest.fixture
def uid() -> Any:
    """Fresh ids, so tests never depend on each other's data or order."""
    return new_id


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


PAYLOAD_FIELDS = "errors { code message field }"

MUTATIONS = {
    "professional": ("createProfessional", "CreateProfessionalInput",
                     "professional { id name trades area createdAt }"),
    "customer": ("createCustomer", "CreateCustomerInput", "customer { id name area createdAt }"),
    "job": ("recordJob", "RecordJobInput",
            "job { id trade completedAt rating value customer { id } professional { id } }"),
    "referral": ("createReferral", "CreateReferralInput",
                 "referral { id status verified note history { status at } "
                 "referrer { __typename ... on Customer { id } ... on Professional { id } } "
                 "professional { id } referee { id } job { id } }"),
    "status": ("updateReferralStatus", "UpdateReferralStatusInput",
               "referral { id status history { status at } job { id referral { id } } }"),
    "network": ("createNetwork", "CreateNetworkInput", "network { id name }"),
    "add_member": ("addNetworkMember", "NetworkMemberInput",
                   "network { id members { totalCount nodes { id } } }"),
    "remove_member": ("removeNetworkMember", "NetworkMemberInput",
                      "network { id members { totalCount nodes { id } } }"),
}


def mutation_text(kind: str) -> str:
    name, input_type, selection = MUTATIONS[kind]
    return (f"mutation($input: {input_type}!) {{ {name}(input: $input) "
            f"{{ {selection} {PAYLOAD_FIELDS} }} }}")


class Maker:
    """Builds test data through the public API, each object with a fresh id, as an admin
    (whose jobs are confirmed at once)."""

    def __init__(self, gql: GraphQLClient, as_: Any = None) -> None:
        self.gql = gql
        self.as_ = as_

    async def call(self, kind: str, **input: Any) -> dict[str, Any]:
        """The payload of a mutation (errors included)."""
        data = await self.gql.data(mutation_text(kind), {"input": input})
        return data[MUTATIONS[kind][0]]

    async def ok(self, kind: str, **input: Any) -> dict[str, Any]:
        payload = await self.call(kind, **input)
        assert payload["errors"] == [], payload["errors"]
        return payload

    async def professional(self, trades: list[str] | None = None, **kw: Any) -> str:
        kw.setdefault("name", "Pat Plumber")
        payload = await self.ok("professional", trades=trades or ["plumbing"], **kw)
        return payload["professional"]["id"]

    async def customer(self, **kw: Any) -> str:
        kw.setdefault("name", "Alice Walker")
        return (await self.ok("customer", **kw))["customer"]["id"]

    async def job(self, customer: str, professional: str, confirm: bool = True, **kw: Any) -> str:
        """A job; ``confirm=False`` records it as the professional itself, so that it waits
        for its customer's confirmation."""
        kw.setdefault("completedAt", "2026-01-10T10:00:00+00:00")
        input = {"customerId": customer, "professionalId": professional, **kw}
        client = self.gql if confirm else self.as_("professional", professional)
        data = await client.data(mutation_text("job"), {"input": input})
        payload = data[MUTATIONS["job"][0]]
        assert payload["errors"] == [], payload["errors"]
        return payload["job"]["id"]

    async def referral(self, referrer: str, professional: str, referee: str, **kw: Any) -> str:
        payload = await self.ok(
            "referral", referrerId=referrer, professionalId=professional, refereeId=referee, **kw
        )
        return payload["referral"]["id"]

    async def status(self, referral: str, status: str, **kw: Any) -> dict[str, Any]:
        return await self.call("status", id=referral, status=status, **kw)

    async def network(self, **kw: Any) -> str:
        kw.setdefault("name", "Test Circle")
        return (await self.ok("network", **kw))["network"]["id"]


@pytest.fixture
def make(gql: GraphQLClient, as_: Any) -> Maker:
    return Maker(gql, as_)


COUNT_BY_ID = {
    label: f"MATCH (n:{label} {{id: $id}}) RETURN count(n) AS n" for label in PREFIXES.values()
}


@pytest.fixture
def exists(store: Store) -> Any:
    """Whether a node has the id: the check behind 'nothing was written'."""

    async def check(node_id: str) -> bool:
        label = kind_of(node_id)
        assert label is not None, node_id
        return (await store.read(COUNT_BY_ID[label], id=node_id))[0]["n"] > 0

    return check
