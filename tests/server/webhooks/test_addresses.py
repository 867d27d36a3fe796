"""Address classes: every IPv6 form that carries an IPv4 address is judged as that address,
and nothing Python itself calls non-global is ever allowed."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ztd.server.webhooks import addresses

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
POLICIES = ("false", "loopback", "true")


def _teredo(client: V4) -> V6:
    # 2001:0:<server>:<flags>:<port ^ 0xffff>:<client ^ 0xffffffff>, a public server.
    server = int(V4("65.54.227.120"))
    return V6(
        (0x20010000 << 96)
        | (server << 64)
        | (0x8000 << 48)
        | (0xFFFF << 32)
        | (int(client) ^ 0xFFFFFFFF)
    )


FORMS: dict[str, Callable[[V4], V6]] = {
    "IPv4-mapped": lambda ip: V6((0xFFFF << 32) | int(ip)),
    "NAT64": lambda ip: V6((0x64FF9B << 96) | int(ip)),
    "6to4": lambda ip: V6((0x2002 << 112) | (int(ip) << 80) | 1),
    "Teredo client": _teredo,
}
# The forms' own edge cases aside (:: and ::1 are not IPv4-compatible addresses).
ipv4 = st.ip_addresses(v=4)
compatible_ipv4 = ipv4.filter(lambda ip: int(ip) > 1)


@given(ip=ipv4, form=st.sampled_from(sorted(FORMS)), policy=st.sampled_from(POLICIES))
def test_an_embedded_ipv4_address_is_judged_as_itself(ip: V4, form: str, policy: str) -> None:
    wrapped = FORMS[form](ip)
    inner = addresses.refusal(str(ip), policy)
    outer = addresses.refusal(str(wrapped), policy)
    if inner is None:
        assert outer is None, (str(wrapped), outer)
    else:
        assert outer == f"{inner} ({form} form of {ip})"


@given(ip=compatible_ipv4, policy=st.sampled_from(POLICIES))
def test_an_ipv4_compatible_address_is_judged_as_its_ipv4_address(ip: V4, policy: str) -> None:
    wrapped = V6(int(ip))
    assert (addresses.refusal(str(wrapped), policy) is None) is (
        addresses.refusal(str(ip), policy) is None
    )


@given(ip=st.ip_addresses())
def test_nothing_python_calls_non_global_is_allowed_without_the_private_policy(
    ip: V4 | V6,
) -> None:
    # Python calls 6to4/Teredo/NAT64 forms by their prefix; ours reads what they carry.
    carries_ipv4 = isinstance(ip, V6) and bool(addresses.embedded_ipv4(ip))
    if addresses.refusal(str(ip), "false") is None and not carries_ipv4:
        assert ip.is_global and not ip.is_multicast, ip


@given(ip=st.ip_addresses())
def test_multicast_is_refused_under_every_policy(ip: V4 | V6) -> None:
    if ip.is_multicast:
        assert all(addresses.refusal(str(ip), p) is not None for p in POLICIES)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified (this network)"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("203.0.113.9", "documentation (TEST-NET-3)"),
        ("198.18.0.1", "benchmarking"),
        ("::", "unspecified"),
        ("3fff::1", "documentation"),
        ("100::1", "discard-only"),
        ("4000::1", "reserved (outside 2000::/3, the global unicast space)"),
        ("fe80::1%eth0", "link-local"),
        ("not-an-address", "not an IP address"),
    ],
)
def test_each_class_is_named(address: str, kind: str) -> None:
    assert addresses.refusal(address, "false") == kind


def test_public_addresses_pass() -> None:
    for address in ("8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "2002:808:808::1"):
        assert addresses.refusal(address, "false") is None, address
