"""GraphiQL renders from the service's own assets, with no other host reachable."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.main import create_app
from tests.clients import chromium, live_server

EXTERNAL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1[:/])[\w.-]+""")


@pytest.fixture(scope="module")
def server(settings, bolt) -> Iterator[str]:
    with live_server(settings, bolt) as base:
        yield base


def fetch(url: str, accept: str = "text/html") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers["content-type"], response.read().decode()


def test_the_page_and_its_assets_come_from_the_service(server):
    status, kind, html = fetch(f"{server}/graphql")
    assert status == 200 and kind.startswith("text/html")
    assert EXTERNAL.findall(html) == []
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/graphiql/static/"), src
        status, kind, body = fetch(f"{server}{src}", accept="*/*")
        assert status == 200 and body
        assert kind.split(";")[0] in ("text/javascript", "application/javascript", "text/css")


def test_graphiql_renders_offline_in_headless_chromium(server, tmp_path):
    browser = chromium()
    run = subprocess.run(
        [str(browser), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path}",
         # Offline: every host but the service's loopback address is unresolvable.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=10000", "--dump-dom", f"{server}/graphql"],
        capture_output=True, text=True, timeout=120,
    )
    dom = run.stdout
    assert "graphiql-container" in dom, (run.returncode, dom[:2000], run.stderr[-2000:])
    assert "graphiql-query-editor" in dom
    assert not re.search(r'<div id="graphiql"[^>]*>\s*Loading', dom)


async def test_production_serves_neither_the_page_nor_its_assets(store, settings):
    import httpx

    app = create_app(replace(settings, env="production"), store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        asset = await http.get("/graphiql/static/graphiql.min.js")
    assert page.status_code == 404
    assert asset.status_code == 404
