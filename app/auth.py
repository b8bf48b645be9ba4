"""Bearer tokens: verification, minting, and the rate limits around them.

Tokens are JWTs signed with HS256 and the secret in ``RG_AUTH_SECRET`` (or, with
``RG_AUTH_JWKS_URL``, verified against an identity provider's published keys). Claims: ``role``
(admin, organiser, professional, customer), ``sub`` (the party's id; required for professionals
and customers), ``networks`` (the networks an organiser runs), and ``exp`` (required, at most
``RG_AUTH_MAX_TTL`` ahead). Every claim is checked for its type and shape: a token that does not
fit is refused as a whole.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from app.ratelimit import RateLimits, too_many
from app.responses import send_error
from app.settings import Settings
from graph.access import Principal, Role
from graph.ids import kind_of

ALGORITHM = "HS256"
DEFAULT_TTL = 3600
# The challenge answered with every refused token (RFC 6750).
INVALID_TOKEN = (b"www-authenticate", b'Bearer error="invalid_token"')
MAX_TOKEN = 8192  # characters; a real token is well under 2000
MAX_NETWORKS = 100
# Paths whose requests carry a bearer token: the API and the exports (app.export).
TOKEN_PATHS = ("/graphql", "/export/")
JWKS_TIMEOUT = 5.0  # seconds to fetch the identity provider's keys
# Verified tokens kept per process, by their text: a client sends the same token with every
# request, and checking its signature and the shape of its claims costs more than the rest of a
# small read's checks together. Neither can change while the token lives, so a token seen
# again has only its lifetime checked again. An entry is trusted for at most as long as
# PyJWKClient keeps a provider's keys (a key the provider withdrew then stops verifying), and a
# full table is simply emptied: no bookkeeping per request.
MAX_VERIFIED = 10_000
VERIFIED_FOR = 300.0  # seconds
# Subjects of admin and organiser tokens: an identity provider's user id ("auth0|123", an
# email, a UUID), never markup or control characters.
SUBJECT = re.compile(r"^[A-Za-z0-9._:@|+-]{1,128}$")


class TokenError(ValueError):
    """The token is malformed, expired, badly signed or names an impossible principal."""


def auth_secret(settings: Settings) -> str:
    """The signing secret: ``RG_AUTH_SECRET``, or outside production a random secret kept in the
    data folder so that tokens survive restarts of a local service. (Its length is checked
    with the other settings, by app.settings.validate.)"""
    if settings.auth_secret:
        return settings.auth_secret
    if settings.production:
        raise TokenError("RG_AUTH_SECRET (or RG_AUTH_JWKS_URL) must be set in production")
    path = Path(settings.data_dir) / "auth-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _time(claims: dict[str, Any], name: str) -> float | None:
    """A time claim: absent, or a finite number of seconds since the epoch. (PyJWT reads
    ``"exp": "9999999999"`` as a number; a string, a bool or NaN is refused here.)"""
    value = claims.get(name)
    if value is None and name not in claims:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenError(f"{name} must be a number of seconds since the epoch")
    return float(value)


def check_lifetime(claims: dict[str, Any], max_ttl: int, now: float | None = None) -> None:
    """``exp`` required; the token valid now (``nbf``, ``iat`` not in the future) and for at
    most ``max_ttl`` seconds, from ``iat`` and from now: a stolen token is worth little."""
    now = time.time() if now is None else now
    exp, iat, nbf = _time(claims, "exp"), _time(claims, "iat"), _time(claims, "nbf")
    if exp is None:
        raise TokenError("exp is required")
    if exp <= now:
        raise TokenError("the token has expired")
    if iat is not None and iat > now:
        raise TokenError("iat is in the future")
    if nbf is not None and nbf > now:
        raise TokenError("the token is not valid yet (nbf)")
    if exp - now > max_ttl or (iat is not None and exp - iat > max_ttl):
        raise TokenError(f"the token is valid for longer than {max_ttl} s (RG_AUTH_MAX_TTL)")


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The principal a token names; a TokenError for any claim out of shape."""
    role_claim = claims.get("role")
    if not isinstance(role_claim, str) or role_claim not in {r.value for r in Role}:
        raise TokenError("role must be admin, organiser, professional or customer")
    role = Role(role_claim)
    sub = claims.get("sub")
    if role in (Role.PROFESSIONAL, Role.CUSTOMER):
        expected = "Professional" if role is Role.PROFESSIONAL else "Customer"
        if not isinstance(sub, str) or kind_of(sub) != expected:
            raise TokenError(f"a {role.value} token needs sub = a {expected} id")
    elif sub is not None and not (isinstance(sub, str) and SUBJECT.match(sub)):
        raise TokenError("sub must be 1 to 128 letters, digits or ._:@|+- characters")
    networks = claims.get("networks")
    if networks is not None:
        if role is not Role.ORGANISER:
            raise TokenError("only an organiser token names networks")
        if (not isinstance(networks, list) or len(networks) > MAX_NETWORKS
                or not all(isinstance(n, str) and kind_of(n) == "Network" for n in networks)):
            raise TokenError(f"networks must be a list of at most {MAX_NETWORKS} network ids")
    return Principal(role, sub, frozenset(networks or ()))


def mint(
    settings: Settings, role: str, sub: str | None = None, networks: list[str] | None = None,
    ttl: int = DEFAULT_TTL,
) -> str:
    """A signed token for the given principal, valid for ``ttl`` seconds."""
    if not 0 < ttl <= settings.auth_max_ttl:
        raise TokenError(f"ttl must be between 1 and {settings.auth_max_ttl} s (RG_AUTH_MAX_TTL)")
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
        # A slow identity provider must not hold requests for PyJWT's default 30 s; an unknown
        # key id refetches the key set at most every 30 s (PyJWT's cooldown), so forged key ids
        # cannot make the service hammer the provider.
        self._jwks = (jwt.PyJWKClient(settings.auth_jwks_url, timeout=JWKS_TIMEOUT)
                      if settings.auth_jwks_url else None)
        self._secret = None if self._jwks else auth_secret(settings)
        # token -> (its claims, its principal, monotonic time of the full check)
        self._verified: dict[str, tuple[dict[str, Any], Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        return (await self.verify_until(token))[0]

    async def verify_until(self, token: str) -> tuple[Principal, float]:
        """The principal and the time its token expires (``exp``, Unix seconds): a WebSocket
        connection, which outlives the handshake, ends then."""
        if len(token) > MAX_TOKEN:
            raise TokenError("the token is too long")
        known = self._verified.get(token)
        if known is not None:
            claims, principal, checked = known
            if time.monotonic() - checked < VERIFIED_FOR:
                check_lifetime(claims, self.settings.auth_max_ttl)
                return principal, float(claims["exp"])
        principal, claims = await self._verify(token)
        if len(self._verified) >= MAX_VERIFIED:
            self._verified.clear()
        self._verified[token] = (claims, principal, time.monotonic())
        return principal, float(claims["exp"])

    async def _verify(self, token: str) -> tuple[Principal, dict[str, Any]]:
        """The full check: signature, audience, issuer, lifetime and every claim's shape."""
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
        check_lifetime(claims, self.settings.auth_max_ttl)
        return principal_from_claims(claims), claims


class AuthMiddleware:
    """Verifies the bearer token of GraphQL and export requests (``TOKEN_PATHS``), puts the
    principal (or None) into ``scope["state"]``, and spends from the principal's rate-limit
    bucket (the client address's was spent before, by app.ratelimit.AddressLimit, whatever the
    token). A request with a bad token is refused outright; one with none goes on as anonymous,
    and the schema then answers only ``{ __typename }`` (an export, 401)."""

    def __init__(self, app: ASGIApp, verifier: Verifier, limits: RateLimits) -> None:
        # ``limits`` is the application's one RateLimits, shared with AddressLimit: buckets of
        # their own here would let a client spend twice the configured rate. ``verifier`` is
        # shared with /metrics, so that one JWKS client fetches and caches the keys.
        self.app = app
        self.verifier = verifier
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(TOKEN_PATHS):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        token = _bearer(scope)
        principal = None
        if token is not None:
            try:
                principal = await self.verifier.verify(token)
            except TokenError as exc:
                await send_error(send, 401, f"invalid token: {exc}", "UNAUTHENTICATED",
                                 headers=[INVALID_TOKEN])
                return
        address = state.get("client_address") or self.limits.address(scope)
        wait = self.limits.spend_principal(principal, address)
        if wait > 0:
            await too_many(send, wait)
            return
        state["principal"] = principal
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
