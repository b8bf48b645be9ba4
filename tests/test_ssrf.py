"""No server-side request forgery: webhook URLs must be https and reach public addresses only,
whatever notation the host is written in, unless RG_WEBHOOKS_ALLOW_PRIVATE is set."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph import ssrf

# One address (or host) of every refused range, written plainly.
REFUSED = {
    "loopback": ["127.0.0.1", "127.255.0.9", "[::1]"],
    "private": ["10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1"],
    "link-local": ["169.254.10.10", "[fe80::1]"],
    "metadata": ["169.254.169.254", "[fd00:ec2::254]"],
    "shared": ["100.64.0.1", "100.127.255.254"],
    "unique-local": ["[fc00::1]", "[fd12:3456::1]"],
    "multicast": ["224.0.0.1", "239.255.255.250", "[ff02::1]"],
    "unspecified": ["0.0.0.0", "[::]"],
    "reserved": ["240.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1", "[2001:db8::1]"],
    # IPv4 carried inside IPv6: judged as the IPv4 address it carries.
    "mapped": ["[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]",
               "[64:ff9b::a9fe:a9fe]", "[2002:7f00:1::]", "[::127.0.0.1]"],
}
# Numbers that resolvers read as 127.0.0.1 or other addresses: not a host a webhook may name.
NOTATIONS = ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "017700000001",
             "0251.0376.0251.0376", "3232235777"]


def cases() -> list[tuple[str, str]]:
    return [(kind, host) for kind, hosts in REFUSED.items() for host in hosts]


@pytest.mark.parametrize(("kind", "host"), cases())
async def test_every_refused_range_is_refused_at_creation(kind, host):
    with pytest.raises(ssrf.Refused):
        await ssrf.check_url(f"https://{host}/hook", allow_private=False)
    # Allowed where private receivers are (tests, on-premise), plain http too.
    await ssrf.check_url(f"http://{host}/hook", allow_private=True)


@pytest.mark.parametrize("host", NOTATIONS)
def test_numeric_host_notations_are_refused(host):
    assert ssrf.problem(f"https://{host}/hook", allow_private=False) == (
        f"{host} is not a host name nor a plain IP address")


async def test_a_name_resolving_to_loopback_is_refused_by_what_it_resolves_to():
    with pytest.raises(ssrf.Refused, match="localhost resolves to"):
        await ssrf.check_url("https://localhost:8443/hook", allow_private=False)


async def test_a_public_address_and_the_forms_of_a_url():
    target = await ssrf.check_url("https://93.184.215.14:8443/events?x=1", allow_private=False)
    assert (target.scheme, target.host, target.port) == ("https", "93.184.215.14", 8443)
    await ssrf.check_url("https://[2606:4700:4700::1111]/hook", allow_private=False)
    for url, why in [
        ("http://93.184.215.14/hook", "must be https"),
        ("ftp://93.184.215.14/hook", "must be https"),
        ("https://user:pw@93.184.215.14/", "no user name or password"),
        ("https://93.184.215.14/#frag", "no fragment"),
        ("https://93.184.215.14:0/", "port"),
        ("https:///path", "needs a host"),
        ("https://a b/", "no spaces"),
    ]:
        assert why in (ssrf.problem(url, allow_private=False) or ""), url


@given(st.ip_addresses())
def test_an_address_is_refused_exactly_when_it_or_the_ipv4_inside_is_not_global(address):
    ip = ssrf.unwrap(address)
    public = ip.is_global and not ip.is_multicast and not ip.is_private
    assert (ssrf.address_kind(address) is None) == public


def test_mapped_addresses_unwrap_to_the_ipv4_they_carry():
    for text, inside in [("::ffff:1.2.3.4", "1.2.3.4"), ("64:ff9b::102:304", "1.2.3.4"),
                         ("2002:102:304::", "1.2.3.4")]:
        assert ssrf.unwrap(ipaddress.ip_address(text)) == ipaddress.ip_address(inside)


async def test_the_api_refuses_a_private_target_as_a_url_error(make, as_, hooks):
    pro = await make.professional()
    client = as_("professional", pro)
    for url in ("https://169.254.169.254/latest/meta-data", "https://[::ffff:127.0.0.1]/",
                "https://2130706433/", "https://localhost/", "http://93.184.215.14/"):
        payload = await hooks.create(client, url, owner=pro)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("VALIDATION", ["input", "url"])], url
    payload = await hooks.create(client, "https://93.184.215.14/hook", owner=pro)
    assert payload["errors"] == []


async def test_with_private_allowed_the_api_takes_loopback_and_http(make, hooks_as, hooks):
    pro = await make.professional()
    payload = await hooks.create(hooks_as("professional", pro), "http://127.0.0.1:9/hook",
                                 owner=pro)
    assert payload["errors"] == []
