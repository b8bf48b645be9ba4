"""Rate limits per client address and per principal, and who the client address is."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import httpx
import pytest

from app.auth import AuthMiddleware, Verifier, mint
from app.main import create_app
from app.ratelimit import RateLimits, address_key, client_ip
from app.settings import Settings

TYPENAME = {"query": "{ __typename }"}
PROXY = "10.0.0.1"
PROXIES = (ip_network("10.0.0.0/8"),)


def limited(settings: Settings, **overrides: Any) -> Settings:
    """Small buckets: 3 at once per address, 2 per principal unless said otherwise."""
    values: dict[str, Any] = {"rate_limit_address": 60, "rate_burst_address": 3,
                              "rate_limit": 60, "rate_burst": 100}
    values.update(overrides)
    return settings.with_overrides(**values)


def client(app: Any, peer: str = "192.0.2.10") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def statuses(http: httpx.AsyncClient, headers: list[dict[str, str]]) -> list[int]:
    return [(await http.post("/graphql", json=TYPENAME, headers=h)).status_code
            for h in headers]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def customer_tokens(settings: Settings, uid: Any, n: int) -> list[dict[str, str]]:
    return [bearer(mint(settings, "customer", uid("cus"))) for _ in range(n)]


async def test_many_valid_tokens_from_one_address_are_limited(store, settings, uid):
    s = limited(settings)
    async with client(create_app(s, store=store)) as http:
        codes = await statuses(http, customer_tokens(s, uid, 5))
        assert codes == [200, 200, 200, 429, 429]
        refused = await http.post("/graphql", json=TYPENAME,
                                  headers=customer_tokens(s, uid, 1)[0])
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # Another address has its own bucket.
    async with client(create_app(s, store=store), peer="192.0.2.11") as http:
        assert await statuses(http, customer_tokens(s, uid, 3)) == [200, 200, 200]


async def test_invalid_tokens_spend_from_the_address_bucket(store, settings):
    s = limited(settings)
    forged = [bearer(f"not.a.token{i}") for i in range(5)]
    async with client(create_app(s, store=store)) as http:
        assert await statuses(http, forged) == [401, 401, 401, 429, 429]
        # ... and so do requests without a token.
        assert await statuses(http, [{}]) == [429]


async def test_readiness_probes_spend_from_the_address_bucket_liveness_probes_do_not(
    store, settings
):
    s = limited(settings)
    async with client(create_app(s, store=store)) as http:
        assert [(await http.get("/readyz")).status_code for _ in range(4)] == [200] * 3 + [429]
        assert (await http.post("/graphql", json=TYPENAME)).status_code == 429
        assert [(await http.get("/healthz")).status_code for _ in range(5)] == [200] * 5


async def test_one_principal_is_limited_across_addresses_and_tokens(store, settings, uid):
    s = limited(settings, rate_burst_address=100, rate_burst=2)
    sub = uid("pro")
    tokens = [bearer(mint(s, "professional", sub, ttl=3600 + i)) for i in range(4)]
    assert len({t["authorization"] for t in tokens}) == 4
    app = create_app(s, store=store)
    codes = []
    for i, headers in enumerate(tokens):
        async with client(app, peer=f"198.51.100.{i + 1}") as http:
            codes += await statuses(http, [headers])
    assert codes == [200, 200, 429, 429]
    async with client(app) as http:  # another principal is not held back
        assert await statuses(http, customer_tokens(s, uid, 1)) == [200]


async def test_a_forged_forwarded_header_from_an_untrusted_peer_is_ignored(store, settings):
    s = limited(settings, trusted_proxies=PROXIES)
    forged = [{"x-forwarded-for": f"203.0.113.{i}"} for i in range(5)]
    forged += [{"forwarded": f"for=203.0.113.{i}"} for i in range(5, 7)]
    app = create_app(s, store=store)
    async with client(app, peer="192.0.2.10") as http:
        assert await statuses(http, forged) == [200, 200, 200, 429, 429, 429, 429]
    assert list(limits_of(app).per_address._buckets) == ["192.0.2.10"]
    # Without trusted proxies, forwarded headers from a proxy count for nothing either.
    untrusting = limited(settings)
    async with client(create_app(untrusting, store=store), peer=PROXY) as http:
        assert await statuses(http, forged[:4]) == [200, 200, 200, 429]


async def test_a_trusted_proxy_forwards_the_client_address(store, settings):
    s = limited(settings, trusted_proxies=PROXIES)
    app = create_app(s, store=store)
    async with client(app, peer=PROXY) as http:
        distinct = [{"x-forwarded-for": f"203.0.113.{i}"} for i in range(6)]
        assert await statuses(http, distinct) == [200] * 6
        # What a client wrote left of the address its proxy appended does not count.
        spoofed = [{"x-forwarded-for": f"198.51.100.{i}, 203.0.113.50"} for i in range(4)]
        assert await statuses(http, spoofed) == [200, 200, 200, 429]
        # Through two trusted proxies: the right-most untrusted address is the client.
        chained = [{"x-forwarded-for": f"198.51.100.{i}, 203.0.113.60, 10.0.0.2"}
                   for i in range(4)]
        assert await statuses(http, chained) == [200, 200, 200, 429]
        rfc7239 = [{"forwarded": f'for="[2001:db8:1:2::{i}]:4711";proto=https'}
                   for i in range(1, 5)]
        assert await statuses(http, rfc7239) == [200, 200, 200, 429]  # one /64
    assert len(limits_of(app).per_address) == 6 + 1 + 1 + 1


def limits_of(app: Any) -> RateLimits:
    return app.state.rate_limits


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, Any]:
    return {"client": (peer, 1) if peer else None,
            "headers": [(k.encode(), v.encode()) for k, v in headers]}


def test_client_address_rules():
    assert str(client_ip(scope("192.0.2.1", ("x-forwarded-for", "1.1.1.1")), PROXIES)) \
        == "192.0.2.1"
    assert str(client_ip(scope(PROXY, ("x-forwarded-for", "1.1.1.1, 10.9.9.9")), PROXIES)) \
        == "1.1.1.1"
    # X-Forwarded-For wins over Forwarded; a request with only Forwarded uses it.
    both = scope(PROXY, ("forwarded", "for=2.2.2.2"), ("x-forwarded-for", "1.1.1.1"))
    assert str(client_ip(both, PROXIES)) == "1.1.1.1"
    assert str(client_ip(scope(PROXY, ("forwarded", "for=2.2.2.2;by=10.0.0.1")), PROXIES)) \
        == "2.2.2.2"
    # Garbage or an obfuscated identifier stops the walk at the last proxy.
    assert str(client_ip(scope(PROXY, ("x-forwarded-for", "1.1.1.1, junk")), PROXIES)) == PROXY
    assert str(client_ip(scope(PROXY, ("forwarded", "for=_hidden")), PROXIES)) == PROXY
    # All hops trusted: the left-most.
    assert str(client_ip(scope(PROXY, ("x-forwarded-for", "10.1.1.1, 10.2.2.2")), PROXIES)) \
        == "10.1.1.1"
    assert str(client_ip(scope("::ffff:192.0.2.7"), ())) == "192.0.2.7"
    assert address_key(client_ip(scope("2001:db8:1:2:aaaa::1"), ())) == "2001:db8:1:2::/64"
    assert address_key(client_ip(scope(None), PROXIES)) == "-"


async def test_the_token_check_needs_the_application_s_rate_limits(settings):
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not reached")

    verifier = Verifier(settings)
    with pytest.raises(TypeError):
        AuthMiddleware(inner, verifier)  # type: ignore[call-arg]  # no buckets of its own
    limits = RateLimits(settings)
    assert AuthMiddleware(inner, verifier, limits).limits is limits
