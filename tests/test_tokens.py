"""Token claims are checked strictly: types, lifetime, subject and networks."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from app.auth import TokenError, mint
from tests.conftest import TEST_SECRET
from tests.test_settings import run_cli

NOW = int(time.time())
HOUR = 3600
DAY = 24 * HOUR
PRO = "pro_01JABCDEFGH"
NET = "net_01JABCDEFGH"

BAD_CLAIMS = {
    "exp missing": {"role": "admin"},
    "exp a string": {"role": "admin", "exp": str(NOW + HOUR)},
    "exp a bool": {"role": "admin", "exp": True},
    "exp a list": {"role": "admin", "exp": [NOW + HOUR]},
    "exp null": {"role": "admin", "exp": None},
    "exp past": {"role": "admin", "exp": NOW - 60},
    "exp beyond the maximum": {"role": "admin", "exp": NOW + DAY + HOUR},
    "exp a year ahead, iat now": {"role": "admin", "iat": NOW, "exp": NOW + 365 * DAY},
    "issued long before": {"role": "admin", "iat": NOW - 2 * DAY, "exp": NOW + HOUR},
    "iat in the future": {"role": "admin", "iat": NOW + HOUR, "exp": NOW + 2 * HOUR},
    "iat a string": {"role": "admin", "iat": str(NOW), "exp": NOW + HOUR},
    # Far enough ahead to stay in the future however long the suite runs before this test.
    "nbf in the future": {"role": "admin", "nbf": NOW + 6 * HOUR, "exp": NOW + 7 * HOUR},
    "nbf a string": {"role": "admin", "nbf": "0", "exp": NOW + HOUR},
    "role a list": {"role": ["admin"], "exp": NOW + HOUR},
    "role unknown": {"role": "root", "exp": NOW + HOUR},
    "role missing": {"exp": NOW + HOUR},
    "professional without sub": {"role": "professional", "exp": NOW + HOUR},
    "professional with a customer id": {"role": "professional", "sub": "cus_01JA",
                                        "exp": NOW + HOUR},
    "professional with an overlong id": {"role": "professional", "sub": "pro_" + "A" * 65,
                                         "exp": NOW + HOUR},
    "customer with a number": {"role": "customer", "sub": 42, "exp": NOW + HOUR},
    "admin with a number sub": {"role": "admin", "sub": 7, "exp": NOW + HOUR},
    "admin with markup in sub": {"role": "admin", "sub": "<script>", "exp": NOW + HOUR},
    "admin with a huge sub": {"role": "admin", "sub": "a" * 129, "exp": NOW + HOUR},
    "networks a string": {"role": "organiser", "networks": NET, "exp": NOW + HOUR},
    "networks not ids": {"role": "organiser", "networks": ["pro_01JA"], "exp": NOW + HOUR},
    "networks too many": {"role": "organiser", "networks": [f"net_{i}" for i in range(101)],
                          "exp": NOW + HOUR},
    "networks on a professional": {"role": "professional", "sub": PRO, "networks": [NET],
                                   "exp": NOW + HOUR},
}

GOOD_CLAIMS = {
    "admin": {"role": "admin", "exp": NOW + HOUR},
    "admin with a subject": {"role": "admin", "sub": "auth0|5f7c8ec7", "iat": NOW,
                             "exp": NOW + DAY},
    "float exp": {"role": "admin", "exp": NOW + HOUR + 0.5, "nbf": NOW - 5},
    "professional": {"role": "professional", "sub": PRO, "exp": NOW + HOUR},
    "organiser": {"role": "organiser", "sub": "org@example.com", "networks": [NET],
                  "exp": NOW + HOUR},
}


async def post_with(http: Any, claims: dict[str, Any]) -> Any:
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    return await http.post("/graphql", json={"query": "{ __typename }"},
                           headers={"authorization": f"Bearer {token}"})


@pytest.mark.parametrize("case", BAD_CLAIMS)
async def test_a_bad_claim_is_refused(http, case):
    response = await post_with(http, BAD_CLAIMS[case])
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("case", GOOD_CLAIMS)
async def test_good_claims_are_accepted(http, case):
    response = await post_with(http, GOOD_CLAIMS[case])
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_an_overlong_token_is_refused(http):
    response = await post_with(http, {"role": "admin", "exp": NOW + HOUR, "pad": "x" * 9000})
    assert response.status_code == 401
    assert "too long" in response.json()["errors"][0]["message"]


def test_minting_respects_the_maximum_lifetime(settings):
    short = settings.with_overrides(auth_max_ttl=600)
    assert mint(short, "admin", ttl=600)
    for ttl in (601, 0, -5):
        with pytest.raises(TokenError, match="RG_AUTH_MAX_TTL"):
            mint(short, "admin", ttl=ttl)


def test_the_token_command_refuses_a_ttl_beyond_the_maximum(tmp_path):
    secret = {"RG_AUTH_SECRET": TEST_SECRET}
    done = run_cli("token", "--role", "admin", "--ttl", str(8 * DAY), **secret)
    assert done.returncode == 2
    assert "RG_AUTH_MAX_TTL" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("token", "--role", "admin", "--ttl", str(8 * DAY), RG_AUTH_MAX_TTL=str(9 * DAY),
                   **secret)
    assert done.returncode == 0, done.stderr
    claims = jwt.decode(done.stdout.strip(), TEST_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 8 * DAY


async def test_a_token_seen_again_skips_the_signature_check_but_not_its_lifetime(
        settings, monkeypatch):
    from app import auth

    verifier = auth.Verifier(settings)
    checks: list[str] = []
    decode = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: checks.append("x") or decode(*a, **k))
    token = jwt.encode({"role": "professional", "sub": PRO, "exp": int(time.time()) + 60},
                       TEST_SECRET, algorithm="HS256")
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first and first.sub == PRO
    assert len(checks) == 1
    # Past its exp the remembered token is refused like any other.
    later = time.time() + 120
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(TokenError, match="expired"):
        await verifier.verify(token)
    # A token that fails its check is never remembered: each try is checked in full.
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(TokenError):
            await verifier.verify(forged)
    assert forged not in verifier._verified


async def test_a_remembered_token_is_checked_in_full_again_after_a_while(settings, monkeypatch):
    from app import auth

    verifier = auth.Verifier(settings)
    token = mint(settings, "admin", "admin:x", ttl=600)
    await verifier.verify(token)
    checks: list[str] = []
    decode = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: checks.append("x") or decode(*a, **k))
    later = time.monotonic() + auth.VERIFIED_FOR + 1
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    await verifier.verify(token)
    assert len(checks) == 1
