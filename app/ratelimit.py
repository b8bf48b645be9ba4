"""Rate limits: a token bucket per client address and one per principal.

Every request (but ``/healthz``) spends from the bucket of its client address, whatever it
carries (no token, an invalid one, a valid one), so that minting or guessing many tokens buys
nothing. A
request with a valid token then also spends from the bucket of its principal, so that one party
spread over many addresses is limited too. The address bucket is the larger one: several people
behind one NAT share it.

The client address is the TCP peer, unless the peer is one of the trusted proxies
(``RG_TRUSTED_PROXIES``): then it is the right-most address of ``X-Forwarded-For`` (or, when a
request has none, of ``Forwarded``) that is not itself a trusted proxy. Anything a client writes
into those headers stands left of what its proxy appended, so it is never reached. IPv6 clients
are counted per /64 network, the block one host usually holds.

The buckets live in memory; the worker processes of one ``serve`` share theirs
(:mod:`app.shared`), so a limit holds for the sum over the workers. Behind a load balancer each
instance (each ``serve``) limits on its own, unless ``RG_RATE_LIMIT_SCOPE=store``: then the
per-minute rates hold for the sum over every instance on the store (:mod:`app.ratesync`).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from app import shared
from app.responses import send_error
from app.settings import IPNetwork, Settings
from graph.access import Principal

if TYPE_CHECKING:
    from app.ratesync import StoreLimits

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_KEYS = 100_000
IPV6_PREFIX = 64
UNKNOWN = "-"  # a peer without an address (a Unix socket)
# The liveness probe answers from memory and must answer even under a flood; /readyz touches
# the store, so it is limited like everything else.
UNLIMITED = frozenset({"/healthz"})
# Referral code lookups (and redemptions) per principal, and landing pages per address: a
# person opens a handful of codes, a walk over the code space needs billions.
CODE_LOOKUPS_PER_MINUTE = 20
CODE_LOOKUP_BURST = 10


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` sustained, ``burst`` at once.

    The least recently used keys are forgotten past ``max_keys``; a bucket idle that long has
    usually refilled anyway, so forgetting it gives nothing away.
    """

    def __init__(self, per_minute: int, burst: int, max_keys: int = MAX_KEYS) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> float:
        """0 when allowed (and spent); otherwise the seconds to wait."""
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
        return (1 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def parse_ip(text: str) -> IPAddress | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:80``,
    quoted), IPv4-mapped IPv6 as IPv4; None for anything else (``unknown``, ``_hidden``).

    >>> parse_ip('"[2001:db8::1]:4711"'), parse_ip("192.0.2.1:80"), parse_ip("unknown")
    (IPv6Address('2001:db8::1'), IPv4Address('192.0.2.1'), None)
    """
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]


def _forwarded_for(values: Iterable[str]) -> Iterator[str]:
    """The ``for=`` of each element of RFC 7239 ``Forwarded`` headers, in order; an element
    without one yields "" (which no address parses from, so the walk stops there)."""
    for value in values:
        for element in value.split(","):
            found = ""
            for pair in element.split(";"):
                key, _, item = pair.partition("=")
                if key.strip().lower() == "for":
                    found = item
            yield found


def forwarded_chain(scope: Scope) -> list[str]:
    """The addresses proxies recorded, client first: X-Forwarded-For if the request has it,
    otherwise Forwarded. (A proxy that sets Forwarded must then drop a client's
    X-Forwarded-For.)"""
    xff = _headers(scope, b"x-forwarded-for")
    if xff:
        return [item for value in xff for item in value.split(",")]
    return list(_forwarded_for(_headers(scope, b"forwarded")))


def _trusted(ip: IPAddress, proxies: tuple[IPNetwork, ...]) -> bool:
    return any(ip.version == net.version and ip in net for net in proxies)


def client_ip(scope: Scope, proxies: tuple[IPNetwork, ...]) -> IPAddress | None:
    """The client's address: the peer, or behind trusted proxies the right-most address in the
    forwarded chain that is not a trusted proxy (the left-most if all are)."""
    client = scope.get("client")
    hop = parse_ip(client[0]) if client else None
    if hop is None or not proxies or not _trusted(hop, proxies):
        return hop
    for entry in reversed(forwarded_chain(scope)):
        ip = parse_ip(entry)
        if ip is None:  # garbage in the chain: trust nothing left of it
            break
        hop = ip
        if not _trusted(hop, proxies):
            break
    return hop


def address_key(ip: IPAddress | None) -> str:
    if ip is None:
        return UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def principal_key(principal: Principal) -> str:
    """Who a token speaks for: role and subject. Tokens without a subject (admins, organisers
    minted without one) share the bucket of their role (and, for organisers, networks)."""
    if principal.sub:
        return f"{principal.role.value}:{principal.sub}"
    return f"{principal.role.value}:-:{','.join(sorted(principal.networks))}"


class Limiter(Protocol):
    def allow(self, key: str, now: float | None = None) -> float: ...


class RateLimits:
    """Both limits of one application, from its settings; with ``shared`` (the folder of the
    worker processes' shared state) the buckets are those of all workers together."""

    def __init__(self, settings: Settings, shared_dir: Path | None = None) -> None:
        # One instance per application, shared by AddressLimit and the AuthMiddleware.
        self.proxies = settings.trusted_proxies
        self.per_address: Limiter
        self.per_principal: Limiter
        # Referral code lookups per principal and landing pages per address (app.landing).
        self.code_lookups: Limiter
        self.landing: Limiter
        if shared_dir is None:
            self.code_lookups = RateLimiter(CODE_LOOKUPS_PER_MINUTE, CODE_LOOKUP_BURST)
            self.landing = RateLimiter(CODE_LOOKUPS_PER_MINUTE, CODE_LOOKUP_BURST)
            self.per_address = RateLimiter(settings.rate_limit_address,
                                           settings.rate_burst_address)
            self.per_principal = RateLimiter(settings.rate_limit, settings.rate_burst)
        else:
            self.per_address = shared.SharedRateLimiter(
                shared_dir / shared.RATE_ADDRESS, settings.rate_limit_address,
                settings.rate_burst_address)
            self.per_principal = shared.SharedRateLimiter(
                shared_dir / shared.RATE_PRINCIPAL, settings.rate_limit, settings.rate_burst)
            self.code_lookups = shared.SharedRateLimiter(
                shared_dir / shared.RATE_CODES, CODE_LOOKUPS_PER_MINUTE, CODE_LOOKUP_BURST)
            self.landing = shared.SharedRateLimiter(
                shared_dir / shared.RATE_LANDING, CODE_LOOKUPS_PER_MINUTE, CODE_LOOKUP_BURST)

        # Across every instance on the store (app.ratesync): each limiter keeps its bucket and
        # adds a shared count per minute on top.
        self.shared: StoreLimits | None = None
        if settings.rate_limit_scope == "store":
            from app.ratesync import StoreLimiter, StoreLimits

            wrapped = [
                StoreLimiter("address", self.per_address, settings.rate_limit_address,
                             settings.rate_burst_address),
                StoreLimiter("principal", self.per_principal, settings.rate_limit,
                             settings.rate_burst),
                StoreLimiter("codes", self.code_lookups, CODE_LOOKUPS_PER_MINUTE,
                             CODE_LOOKUP_BURST),
                StoreLimiter("landing", self.landing, CODE_LOOKUPS_PER_MINUTE,
                             CODE_LOOKUP_BURST),
            ]
            self.per_address, self.per_principal, self.code_lookups, self.landing = wrapped
            self.shared = StoreLimits(wrapped, settings.rate_limit_sync)

    def address(self, scope: Scope) -> str:
        return address_key(client_ip(scope, self.proxies))

    def spend_address(self, address: str) -> float:
        """0 when the address may go on; otherwise the seconds to wait."""
        return self.per_address.allow(address)

    def spend_principal(self, principal: Principal | None, address: str) -> float:
        # Without a token a request speaks for nobody: its address stands in for the principal,
        # which keeps anonymous traffic to the per-principal rate.
        key = principal_key(principal) if principal else f"anonymous@{address}"
        return self.per_principal.allow(key)


async def too_many(send: Send, wait: float) -> None:
    """429 with Retry-After in whole seconds (at least 1), and a GraphQL-shaped error body."""
    await send_error(send, 429, "too many requests; slow down", "RATE_LIMITED",
                     headers=[(b"retry-after", str(max(1, math.ceil(wait))).encode())])


async def refuse_handshake(scope: Scope, send: Send, wait: float) -> None:
    """Refuse a WebSocket handshake for the rate limit: 429 where the server can answer a
    handshake with a response of its own (uvicorn can), else 403."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    await too_many(_as_handshake(send), wait)


def _as_handshake(send: Send) -> Send:
    """A ``send`` that turns an HTTP response into the ASGI messages answering a handshake."""

    async def handshake_send(message: Any) -> None:
        await send({**message, "type": f"websocket.{message['type']}"})

    return handshake_send


class AddressLimit:
    """Spends from the client address's bucket for every HTTP request but the liveness probe,
    and for every WebSocket handshake, before anything reads the token or the body, and leaves
    the address in ``scope["state"]["client_address"]``."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in UNLIMITED:
            await self.app(scope, receive, send)
            return
        address = self.limits.address(scope)
        wait = self.limits.spend_address(address)
        if wait > 0:
            if scope["type"] == "websocket":
                await refuse_handshake(scope, send, wait)
            else:
                await too_many(send, wait)
            return
        scope.setdefault("state", {})["client_address"] = address
        await self.app(scope, receive, send)
