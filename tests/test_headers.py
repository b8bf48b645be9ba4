"""Response headers: no caching, no sniffing, no server banner."""

from __future__ import annotations

import ast
import asyncio
import socket
from pathlib import Path

import httpx
import uvicorn

from app.cli import server_options
from app.main import create_app

TYPENAME = {"query": "{ __typename }"}


def assert_hardened(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", response.headers
    assert response.headers.get("x-content-type-options") == "nosniff", response.headers
    assert "server" not in response.headers


async def test_every_response_carries_the_headers(http, gql):
    auth = {"authorization": f"Bearer {gql.token}"}
    responses = [
        await http.post("/graphql", json=TYPENAME, headers=auth),
        await http.post("/graphql", json={"query": "{ professionals { totalCount } }"}),  # 401
        await http.post("/graphql", json=TYPENAME, headers={"authorization": "Bearer bad"}),
        await http.post("/graphql", content=b"{",  # malformed body
                        headers={**auth, "content-type": "application/json"}),
        await http.get("/graphql", headers={"accept": "text/html"}),  # GraphiQL
        await http.get("/healthz"),
        await http.get("/readyz"),
        await http.get("/nowhere"),
    ]
    assert [r.status_code for r in responses] == [200, 401, 401, 400, 200, 200, 200, 404]
    for response in responses:
        assert_hardened(response)


async def test_a_rate_limited_answer_carries_them_too(store, settings):
    app = create_app(settings.with_overrides(rate_limit_address=60, rate_burst_address=1),
                     store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        await http.post("/graphql", json=TYPENAME)
        limited = await http.post("/graphql", json=TYPENAME)
    assert limited.status_code == 429
    assert_hardened(limited)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_real_server_sends_no_banner(store, settings, gql):
    # uvicorn as `referral-graph serve` runs it: over a socket, with the serve options.
    options = {**server_options(settings), "host": "127.0.0.1", "port": free_port()}
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store=store), **options))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{options['port']}"
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.post("/graphql", json=TYPENAME,
                                       headers={"authorization": f"Bearer {gql.token}"})
            health = await http.get("/healthz")
    finally:
        server.should_exit = True
        await task
    assert response.json() == {"data": {"__typename": "Query"}}
    for r in (response, health):
        assert_hardened(r)
        assert "date" in r.headers  # HTTP asks origin servers with a clock for it


def _starts_a_response(node: ast.AST) -> bool:
    return isinstance(node, ast.Dict) and any(
        isinstance(k, ast.Constant) and k.value == "type"
        and isinstance(v, ast.Constant) and v.value == "http.response.start"
        for k, v in zip(node.keys, node.values, strict=True)
    )


def test_error_answers_outside_graphql_are_written_in_one_module():
    # One writer for the JSON errors of the middlewares, so that they share one shape and
    # one set of headers; and no module borrows another's private helpers.
    app_dir = Path(__file__).resolve().parent.parent / "app"
    writers, private = [], []
    for path in sorted(app_dir.glob("*.py")):
        tree = ast.parse(path.read_text())
        if any(_starts_a_response(node) for node in ast.walk(tree)):
            writers.append(path.name)
        private += [f"{path.name}: {alias.name}" for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.")
                    for alias in node.names if alias.name.startswith("_")]
    assert writers == ["responses.py"]
    assert private == []


async def test_error_answers_of_the_middlewares_share_one_shape(store, settings):
    app = create_app(settings.with_overrides(rate_limit=60, rate_burst=1, max_body_bytes=100),
                     store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        bad_token = await http.post("/graphql", json=TYPENAME,
                                    headers={"authorization": "Bearer not-a-token"})
        too_large = await http.post("/graphql", json={"query": "{ __typename }" + " " * 200})
        await http.post("/graphql", json=TYPENAME)
        limited = await http.post("/graphql", json=TYPENAME)
    answers = {401: bad_token, 413: too_large, 429: limited}
    assert {r.status_code: r.status_code for r in answers.values()} == {s: s for s in answers}
    for response in answers.values():
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"data", "errors"} and body["data"] is None
        assert set(body["errors"][0]) == {"message", "extensions"}
    assert bad_token.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert too_large.json()["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
