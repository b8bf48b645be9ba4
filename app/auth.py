"""Bearer tokens: verification, minting, and the rate limits around them.

Tokens are JWTs signed with HS256 and the secret in ``RG_AUTH_SECRET`` (or, with
``RG_AUTH_JWKS_URL``, verified against an identity provider's published keys). Claims: ``role``
(admin, organiser, professional, customer), ``sub`` (the party's id; required for professionals
and customers) and ``networks`` (the networks an organiser runs).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from app.ratelimit import RateLimits, retry_after
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
    ``scope["state"]``, and applies the rate limits (see app/ratelimit.py): first the client
    address's, which every request spends from, valid token or not; then the principal's. A
    request with a bad token is refused outright; one with none goes on as anonymous, and the
    schema then answers only ``{ __typename }``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.verifier = Verifier(settings)
        self.limits = RateLimits(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/graphql"):
            await self.app(scope, receive, send)
            return
        address = self.limits.address(scope)
        wait = self.limits.spend_address(address)
        if wait > 0:
            await _too_many(send, wait)
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
        wait = self.limits.spend_principal(principal, address)
        if wait > 0:
            await _too_many(send, wait)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["client_address"] = address
        await self.app(scope, receive, send)


async def _too_many(send: Send, wait: float) -> None:
    await _reply(send, 429, "too many requests; slow down", "RATE_LIMITED",
                 [(b"retry-after", retry_after(wait))])


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
