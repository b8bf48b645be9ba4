"""Bearer tokens: verification, minting, and a per-token rate limit.

Tokens are JWTs signed with HS256 and the secret in ``RG_AUTH_SECRET`` (or, with
``RG_AUTH_JWKS_URL``, verified against an identity provider's published keys). Claims: ``role``
(admin, organiser, professional, customer), ``sub`` (the party's id; required for professionals
and customers) and ``networks`` (the networks an organiser runs).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import Settings
from graph.access import Principal, Role
from graph.ids import kind_of

ALGORITHM = "HS256"
DEFAULT_TTL = 3600
MIN_SECRET = 32  # bytes; RFC 7518 asks HS256 keys to be at least as long as the hash


class TokenError(ValueError):
    """The token is malformed, expired, badly signed or names an impossible principal."""


def auth_secret(settings: Settings) -> str:
    """The signing secret: ``RG_AUTH_SECRET``, or outside production a random secret kept in the
    data folder so that tokens survive restarts of a local service."""
    if settings.auth_secret:
        if len(settings.auth_secret.encode()) < MIN_SECRET:
            raise TokenError(f"RG_AUTH_SECRET must be at least {MIN_SECRET} bytes long")
        return settings.auth_secret
    if settings.production:
        raise TokenError("RG_AUTH_SECRET (or RG_AUTH_JWKS_URL) must be set in production")
    path = Path(settings.data_dir) / "auth-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise TokenError("role must be admin, organiser, professional or customer") from None
    sub = claims.get("sub")
    if role in (Role.PROFESSIONAL, Role.CUSTOMER):
        expected = "Professional" if role is Role.PROFESSIONAL else "Customer"
        if not isinstance(sub, str) or kind_of(sub) != expected:
            raise TokenError(f"a {role.value} token needs sub = a {expected} id")
    networks = claims.get("networks") or []
    if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
        raise TokenError("networks must be a list of network ids")
    return Principal(role, sub if isinstance(sub, str) else None, frozenset(networks))


def mint(
    settings: Settings, role: str, sub: str | None = None, networks: list[str] | None = None,
    ttl: int = DEFAULT_TTL,
) -> str:
    """A signed token for the given principal, valid for ``ttl`` seconds."""
    now = int(time.time())
    claims: dict[str, Any] = {"role": role, "iat": now, "exp": now + ttl}
    if sub:
        claims["sub"] = sub
    if networks:
        claims["networks"] = networks
    if settings.auth_issuer:
        claims["iss"] = settings.auth_issuer
    if settings.auth_audience:
        claims["aud"] = settings.auth_audience
    principal_from_claims(claims)  # refuse to mint what verification would refuse
    return jwt.encode(claims, auth_secret(settings), algorithm=ALGORITHM)


class Verifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None
        self._secret = None if self._jwks else auth_secret(settings)

    async def verify(self, token: str) -> Principal:
        options: Any = {"require": ["exp"]}
        try:
            if self._jwks is not None:
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token, key.key, algorithms=["RS256", "ES256", "EdDSA"],
                    audience=self.settings.auth_audience, issuer=self.settings.auth_issuer,
                    options=options,
                )
            else:
                assert self._secret is not None
                claims = jwt.decode(
                    token, self._secret, algorithms=[ALGORITHM],
                    audience=self.settings.auth_audience, issuer=self.settings.auth_issuer,
                    options=options,
                )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from None
        return principal_from_claims(claims)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` sustained, ``burst`` at once. In memory, per
    process; behind a load balancer each instance limits on its own."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> float:
        """0 when allowed; otherwise the seconds to wait."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate if self.rate else 60.0


async def _reply(send: Send, status: int, message: str, code: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"data": None, "errors": [
        {"message": message, "extensions": {"code": code}}
    ]}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware:
    """Verifies the bearer token of GraphQL requests, puts the principal (or None) into
    ``scope["state"]``, and applies the rate limit per token (per client address without one).
    A request with a bad token is refused outright; one with none goes on as anonymous, and the
    schema then answers only ``{ __typename }``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.verifier = Verifier(settings)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/graphql"):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        principal = None
        if token is not None:
            try:
                principal = await self.verifier.verify(token)
            except TokenError as exc:
                await _reply(send, 401, f"invalid token: {exc}", "UNAUTHENTICATED",
                             [(b"www-authenticate", b'Bearer error="invalid_token"')])
                return
            key = hashlib.sha256(token.encode()).hexdigest()[:24]
        else:
            client = scope.get("client")
            key = f"anonymous:{client[0] if client else '-'}"
        wait = self.limiter.allow(key)
        if wait > 0:
            await _reply(send, 429, "too many requests; slow down", "RATE_LIMITED",
                         [(b"retry-after", str(max(1, round(wait))).encode())])
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
