"""Where a webhook may point: no server-side request forgery.

A webhook makes the service send requests to a URL a client chose. Left unchecked, a client
could aim it at the service's own neighbours: the store, a cloud metadata endpoint
(169.254.169.254, fd00:ec2::254), an admin page on loopback. So a webhook URL must be https
and its host must resolve only to public addresses; a host that resolves to any loopback,
private, link-local, shared (CGNAT), unique-local, multicast, reserved, documentation or
unspecified address is refused. The check runs when the webhook is created and again before
every delivery (DNS may change in between), and a delivery connects to the address that was
checked, not to a second lookup's answer.

Addresses are judged after unwrapping the forms that carry an IPv4 address inside IPv6
(IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64
``64:ff9b::/96``, Teredo): ``::ffff:127.0.0.1`` is loopback. A host written as a bare number or
in octal or hex parts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``), which resolvers
read as IPv4, is refused outright: a webhook's host is a name or a plain address.

``allow_private`` (RG_WEBHOOKS_ALLOW_PRIVATE, for tests and on-premise receivers) lifts the
address rules and allows plain http too.

>>> problem("https://hooks.example.com/referrals", allow_private=False) is None
True
>>> problem("http://hooks.example.com/x", allow_private=False)
'a webhook URL must be https'
>>> address_kind(ipaddress.ip_address("::ffff:10.0.0.1"))
'a private address'
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL = 2048
RESOLVE_TIMEOUT = 5.0

# Checked in this order: the first that holds names the refusal. ``is_global`` catches the
# rest (documentation, benchmarking, reserved and other special-purpose blocks).
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"),
                      ipaddress.ip_address("fd00:ec2::254")})
SHARED = (ipaddress.ip_network("100.64.0.0/10"),)
UNIQUE_LOCAL = (ipaddress.ip_network("fc00::/7"),)
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                   "192.168.0.0/16"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

# A host whose last label is all digits, or a hex number, is an IPv4 address in some notation.
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$", re.IGNORECASE)


class Refused(ValueError):
    """A URL or address a webhook may not use; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its scheme, host (without brackets), port and the URL itself."""

    url: str
    scheme: str
    host: str
    port: int


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo
    client), else the address itself.

    >>> str(unwrap(ipaddress.ip_address("::ffff:127.0.0.1")))
    '127.0.0.1'
    >>> str(unwrap(ipaddress.ip_address("2002:a9fe:a9fe::1")))
    '169.254.169.254'
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_kind(address: IPAddress) -> str | None:
    """What kind of address a webhook may not reach ``address`` is, or None for a public one.

    >>> [address_kind(ipaddress.ip_address(a)) for a in ("93.184.215.14", "100.64.1.1")]
    [None, 'a shared (CGNAT) address']
    """
    ip = unwrap(address)
    if ip in METADATA or address in METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if any(ip in n for n in SHARED):
        return "a shared (CGNAT) address"
    if any(ip in n for n in UNIQUE_LOCAL):
        return "a unique-local address"
    if any(ip in n for n in PRIVATE):
        return "a private address"
    if not ip.is_global or ip.is_private:
        return "a reserved address"
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why a webhook may not reach ``address``, or None.

    >>> address_problem(ipaddress.ip_address("::ffff:10.0.0.1"))
    '::ffff:a00:1 is a private address'
    """
    kind = address_kind(address)
    return None if kind is None else f"{address} is {kind}"


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL:
        raise Refused(f"a webhook URL has at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise Refused("a webhook URL has no spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        raise Refused(f"not a URL: {exc}") from None
    return parts


def parse(url: str, *, allow_private: bool) -> Target:
    """``url`` checked for its form: http(s) as allowed, a host, no credentials, no fragment.
    Addresses are checked by :func:`check_host`."""
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise Refused("a webhook URL must be https" if not allow_private
                      else "a webhook URL must be http or https")
    if scheme == "http" and not allow_private:
        raise Refused("a webhook URL must be https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("a webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("a webhook URL carries no user name or password")
    if parts.fragment:
        raise Refused("a webhook URL has no fragment (#...)")
    literal = _literal(host)
    if literal is None and _NUMERIC_LABEL.match(host.rpartition(".")[2]):
        raise Refused(f"{host} is not a host name nor a plain IP address")
    if parts.port == 0:
        raise Refused("a webhook URL's port is 1 to 65535")
    port = parts.port or (443 if scheme == "https" else 80)
    return Target(url=url, scheme=scheme, host=host, port=port)


def _literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one in its plain form."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        return None


async def resolve(host: str, port: int, timeout: float = RESOLVE_TIMEOUT) -> list[IPAddress]:
    """Every address ``host`` resolves to now (the literal itself for an IP address)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        raise Refused(f"{host} does not resolve") from None
    addresses: list[IPAddress] = []
    for _, _, _, _, sockaddr in found:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise Refused(f"{host} does not resolve")
    return addresses


def check_addresses(host: str, addresses: Sequence[IPAddress]) -> None:
    """Refuse ``host`` when any address it resolves to is not public: a name that answers
    with one public and one private address could be steered to the private one."""
    for ip in addresses:
        kind = address_kind(ip)
        if kind is not None:
            raise Refused(f"{ip} is {kind}" if str(ip) == host
                          else f"{host} resolves to {ip}, {kind}")


async def check_host(target: Target, *, allow_private: bool,
                     timeout: float = RESOLVE_TIMEOUT) -> list[IPAddress]:
    """The addresses a delivery to ``target`` may connect to (resolved now), or Refused."""
    addresses = await resolve(target.host, target.port, timeout)
    if not allow_private:
        check_addresses(target.host, addresses)
    return addresses


async def check_url(url: str, *, allow_private: bool,
                    timeout: float = RESOLVE_TIMEOUT) -> Target:
    """``url`` checked for its form and, unless ``allow_private``, its addresses."""
    target = parse(url, allow_private=allow_private)
    if not allow_private:
        await check_host(target, allow_private=False, timeout=timeout)
    return target


def problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` is refused by its form alone (no lookup), or None."""
    try:
        parse(url, allow_private=allow_private)
    except Refused as exc:
        return str(exc)
    return None


__all__ = ["Refused", "Target", "address_kind", "address_problem", "check_addresses", "check_host",
           "check_url", "parse", "problem", "resolve", "unwrap"]
