"""GraphiQL renders from the service's own assets, with no other host reachable."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.auth import mint
from app.main import create_app
from tests.clients import browser, chromium, live_server

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


# The editors are CodeMirror 5 instances; the headers editor is the tool pane's visible one.
EDITOR = {
    "query": "document.querySelector('.graphiql-query-editor .CodeMirror')",
    "headers": "[...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor')]"
               ".find(e => !e.classList.contains('hidden')).querySelector('.CodeMirror')",
    "response": "document.querySelector('.graphiql-response .CodeMirror')",
}
LIVE = "subscription { referralEvents { id kind referral { id status } } }"


async def test_a_subscription_in_graphiql_receives_events_over_a_websocket(
        server, make, settings, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    token = mint(settings, "admin")
    with browser(tmp_path / "profile") as driver:
        driver.get(f"{server}/graphql")
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.execute_script(f"return !!({EDITOR['query']})"))
        wait.until(lambda d: d.execute_script(f"return !!({EDITOR['headers']})"))
        def response() -> str:
            return str(driver.execute_script(
                f"const e = {EDITOR['response']}; return e ? e.CodeMirror.getValue() : ''"))

        # Without a token the connection is refused, and the page says so.
        driver.execute_script(f"{EDITOR['query']}.CodeMirror.setValue(arguments[0])", LIVE)
        driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
        wait.until(lambda d: "4403" in response())
        # The token where a person puts it: the Headers tab.
        driver.execute_script(f"{EDITOR['headers']}.CodeMirror.setValue(arguments[0])",
                              json.dumps({"Authorization": f"Bearer {token}"}))
        driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

        pro, referrer = await make.professional(), await make.customer()
        made = []
        for _ in range(40):  # until the subscription runs and an event shows
            made.append(await make.referral(referrer, pro, await make.customer()))
            await asyncio.sleep(0.5)
            if any(ref in response() for ref in made):
                break
        shown = response()
        assert any(ref in shown for ref in made), (shown, driver.get_log("browser"))
        assert '"kind": "CREATED"' in shown
        # The page went to the service alone: GraphiQL and the graphql-ws client are its own.
        requested = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(url.startswith(server) for url in requested), requested
