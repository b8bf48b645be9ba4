"""/metrics: Prometheus text for an admin or the scrape token, nothing for anyone else; counts by
top-level field and outcome stay a bounded set whatever clients send."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client.parser import text_string_to_metric_families

from app.auth import mint
from app.main import create_app
from app.settings import Settings, SettingsError, load_settings
from graph.store import Store

SCRAPE = "scrape-token-of-the-metrics-test-0123456789"
COUNT = "{ professionals(first: 1) { totalCount } }"
BAD_PRO = """mutation { createProfessional(input: {name: "", trades: ["plumbing"]})
  { professional { id } errors { code } } }"""
CUSTOMERS = "{ customers(first: 1) { totalCount } }"


@pytest.fixture
async def client(store: Store, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh app with a scrape token, so that its counters start at zero."""
    app = create_app(settings.with_overrides(metrics_token=SCRAPE), store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


async def scrape(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/metrics", headers=bearer(SCRAPE))
    assert response.status_code == 200, response.text
    return {
        family.name: family
        for family in text_string_to_metric_families(response.text)
    }


def samples(families: dict[str, Any], name: str, suffix: str = "_total") -> dict[tuple, float]:
    family = families.get(name)
    if family is None:
        return {}
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples if s.name == name + suffix
    }


def count(families: dict[str, Any], field: str, outcome: str) -> float:
    key = (("field", field), ("outcome", outcome))
    return samples(families, "rg_graphql_requests").get(key, 0.0)


async def test_admins_and_the_scrape_token_read_the_metrics(client, settings):
    for token in (mint(settings, "admin"), SCRAPE):
        response = await client.get("/metrics", headers=bearer(token))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "rg_graphql_requests_total" in response.text
        assert "rg_store_round_trips_total" in response.text


async def test_anyone_else_is_refused_and_learns_nothing(client, settings, uid):
    refused = {
        "no token": (None, 401),
        "wrong scrape token": (SCRAPE[:-1] + "x", 401),
        "garbage": ("not-a-token", 401),
        "customer": (mint(settings, "customer", uid("cus")), 403),
        "professional": (mint(settings, "professional", uid("pro")), 403),
        "organiser": (mint(settings, "organiser", None, [uid("net")]), 403),
    }
    for who, (token, status) in refused.items():
        response = await client.get("/metrics", headers=bearer(token))
        assert response.status_code == status, who
        assert "rg_" not in response.text and "#" not in response.text, who


async def test_without_a_scrape_token_only_admins_read(store, settings):
    app = create_app(settings, store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        assert (await http.get("/metrics", headers=bearer(SCRAPE))).status_code == 401
        admin = await http.get("/metrics", headers=bearer(mint(settings, "admin")))
        assert admin.status_code == 200


def test_a_short_scrape_token_does_not_start():
    with pytest.raises(SettingsError, match="RG_METRICS_TOKEN"):
        load_settings({"RG_METRICS_TOKEN": "short"})
    with pytest.raises(SettingsError, match="RG_METRICS_TOKEN"):
        Settings().with_overrides(metrics_token="short")  # checked with every other setting
    assert load_settings({"RG_METRICS_TOKEN": SCRAPE}).metrics_token == SCRAPE


async def test_requests_are_counted_by_field_and_outcome(client, settings, uid):
    admin = bearer(mint(settings, "admin"))
    customer = bearer(mint(settings, "customer", uid("cus")))
    before = await scrape(client)
    for _ in range(3):
        assert (await client.post("/graphql", json={"query": COUNT}, headers=admin)).json()[
            "data"]["professionals"]["totalCount"] >= 0
    await client.post("/graphql", json={"query": BAD_PRO}, headers=admin)
    await client.post("/graphql", json={"query": CUSTOMERS}, headers=customer)
    await client.post("/graphql", json={"query": COUNT})  # no token
    await client.post("/graphql", json={"query": COUNT},
                      headers=bearer("eyJhbGciOiJIUzI1NiJ9.e30.bad"))  # refused by the middleware
    after = await scrape(client)

    def rise(field: str, outcome: str) -> float:
        return count(after, field, outcome) - count(before, field, outcome)

    assert rise("professionals", "ok") == 3
    assert rise("createProfessional", "rejected") == 1
    assert rise("customers", "forbidden") == 1
    assert rise("professionals", "unauthenticated") == 1
    assert rise("none", "unauthenticated") == 1
    errors = samples(after, "rg_graphql_errors")
    assert errors[(("code", "FORBIDDEN"),)] >= 1
    assert errors[(("code", "UNAUTHENTICATED"),)] >= 2
    assert samples(after, "rg_graphql_payload_errors")[(("code", "VALIDATION"),)] >= 1
    latency = samples(after, "rg_graphql_request_duration_seconds", "_count")
    assert latency[(("field", "professionals"),)] == 4
    trips = samples(after, "rg_store_round_trips")[()]
    assert trips > samples(before, "rg_store_round_trips")[()]
    http = samples(after, "rg_http_requests")
    assert http[(("route", "/graphql"), ("status", "200"))] >= 4
    assert http[(("route", "/graphql"), ("status", "401"))] >= 2


async def test_labels_stay_bounded_whatever_clients_send(client, settings):
    admin = bearer(mint(settings, "admin"))
    sent: list[str] = []
    for _ in range(20):
        word = "x" + secrets.token_hex(6)
        sent.append(word)
        documents = [
            f"query {word} {{ professionals(first: 1) {{ totalCount }} }}",  # operation name
            f"{{ {word}: professionals(first: 1) {{ totalCount }} }}",  # alias
            f"{{ {word} }}",  # unknown field
            f"mutation {word} {{ {word}(input: {{}}) {{ id }} }}",  # unknown mutation
            f"{{ {word}",  # does not parse
        ]
        for document in documents:
            await client.post("/graphql", json={"query": document, "operationName": word},
                              headers=admin)
        await client.get(f"/{word}")  # an unknown route
    text = (await client.get("/metrics", headers=bearer(SCRAPE))).text
    assert not any(word in text for word in sent)
    families = await scrape(client)
    fields = {dict(k)["field"] for k in samples(families, "rg_graphql_requests")}
    assert fields <= {"professionals", "other", "none"}, fields
    assert "other" in fields
    routes = {dict(k)["route"] for k in samples(families, "rg_http_requests")}
    assert routes <= {"/graphql", "/metrics", "other"}


async def test_embedded_store_restarts_are_counted(tmp_data_dir, settings):
    app = create_app(settings.with_overrides(data_dir=tmp_data_dir, metrics_token=SCRAPE))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        server = app.state.app_state.server
        assert samples(await scrape(http), "rg_embedded_store_restarts")[()] == 0
        await asyncio.to_thread(server.kill)
        deadline = time.monotonic() + 90
        while (await http.get("/readyz")).status_code != 200 or server.restarts < 1:
            assert time.monotonic() < deadline, "the watchdog did not restart the store"
            await asyncio.sleep(0.5)
        assert samples(await scrape(http), "rg_embedded_store_restarts")[()] == 1


async def test_a_timed_out_request_counts_as_timeout(store, settings):
    app = create_app(settings.with_overrides(metrics_token=SCRAPE, request_timeout=1e-6,
                                                 store_timeout=1e-7),
                     store=store)
    admin = bearer(mint(settings, "admin"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        body = (await http.post("/graphql", json={"query": COUNT}, headers=admin)).json()
        assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
        families = await scrape(http)
    outcomes = {dict(k)["outcome"]: v for k, v in samples(families, "rg_graphql_requests").items()}
    assert outcomes == {"timeout": 1.0}
    assert samples(families, "rg_graphql_errors")[(("code", "TIMEOUT"),)] == 1


async def test_queries_over_get_are_counted_by_field(client, settings):
    admin = bearer(mint(settings, "admin"))
    before = await scrape(client)
    response = await client.get("/graphql", params={"query": COUNT}, headers=admin)
    assert response.json()["data"]["professionals"]["totalCount"] >= 0
    page = await client.get("/graphql", headers={"accept": "text/html"})  # GraphiQL
    assert page.status_code == 200
    after = await scrape(client)
    assert count(after, "professionals", "ok") - count(before, "professionals", "ok") == 1
    latency = samples(after, "rg_graphql_request_duration_seconds", "_count")
    assert latency[(("field", "professionals"),)] == 1
    assert samples(after, "rg_graphql_requests") == samples(before, "rg_graphql_requests") | {
        (("field", "professionals"), ("outcome", "ok")): 1.0}


@pytest.fixture
def identity_provider() -> Any:
    """A local identity provider publishing one RSA key; counts how often its keys are fetched."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1",
           "use": "sig", "alg": "RS256"}
    body = json.dumps({"keys": [jwk]}).encode()
    fetches: list[str] = []

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks"

    def token(role: str) -> str:
        now = int(time.time())
        return jwt.encode({"role": role, "iat": now, "exp": now + 600}, key, algorithm="RS256",
                          headers={"kid": "k1"})

    yield url, token, fetches
    server.shutdown()
    server.server_close()


async def test_metrics_share_the_token_check_s_key_set(store, settings, identity_provider):
    url, token, fetches = identity_provider
    app = create_app(settings.with_overrides(auth_jwks_url=url), store=store)
    admin = bearer(token("admin"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        answer = await http.post("/graphql", json={"query": COUNT}, headers=admin)
        assert answer.json()["data"]["professionals"]["totalCount"] >= 0
        assert (await http.get("/metrics", headers=admin)).status_code == 200
        assert (await http.get("/metrics", headers=bearer(token("organiser")))).status_code \
            == 403
    assert fetches == ["/jwks"]  # one key set, fetched once, for both
