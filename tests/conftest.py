"""Session fixtures: one real Bolt server for the whole run.

With ``NEO4J_URI`` set the suite runs against that server; otherwise it starts the embedded
ArcadeDB server in a temporary folder. Nothing here mocks the driver or the store.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings, load_settings
from graph.embedded import BoltAddress, EmbeddedServer
from graph.ids import new_id
from graph.store import Store, connect


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


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings({k: v for k, v in os.environ.items() if k.startswith("RG_")})


@pytest.fixture(scope="session")
async def store(bolt: BoltAddress) -> AsyncIterator[Store]:
    s = connect(bolt.uri, bolt.user, bolt.password, bolt.database)
    await s.ensure_schema()
    yield s
    await s.close()


class GraphQLClient:
    """Posts GraphQL to the app in-process (ASGI), the way a frontend would over HTTP."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
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
async def gql(app: Any) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http)


@pytest.fixture
def uid() -> Any:
    """Fresh ids, so tests never depend on each other's data or order."""
    return new_id


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
