"""Which IP addresses a webhook may be delivered to: the classes of address that are not
global unicast, from IANA's special-purpose registries, and the IPv6 forms that carry an
IPv4 address (checked as that IPv4 address).

The table is ours rather than ``ipaddress``'s ``is_global``: that one calls multicast
global (224.0.0.1 passed) and changed between Python patch releases."""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Kinds ZTD_WEBHOOK_ALLOW_PRIVATE=true lets through: networks a deployment may own.
PRIVATE_KINDS: Final = frozenset(
    {"private", "loopback", "link-local", "shared (carrier-grade NAT)", "unique local"}
)

_V4: Final = [
    (ipaddress.IPv4Network(net), kind)
    for net, kind in (
        ("0.0.0.0/8", "unspecified (this network)"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "reserved (former 6to4 relay anycast)"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
]
# Inside 2000::/3, the only IPv6 space allocated for global unicast. Teredo (2001::/32,
# inside 2001::/23) and 6to4 (2002::/16) are read as the IPv4 they carry before this.
_V6_GLOBAL_SPACE: Final = ipaddress.IPv6Network("2000::/3")
_V6: Final = [
    (ipaddress.IPv6Network(net), kind)
    for net, kind in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),  # local-use NAT64 (RFC 8215)
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignment"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
]
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible ::a.b.c.d


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address stands for, each with the form's name: mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16),
    Teredo (2001::/32: its server and its client). [] for a plain IPv6 address."""
    if ip.ipv4_mapped is not None:
        return [("IPv4-mapped", ip.ipv4_mapped)]
    if ip.sixtofour is not None:
        return [("6to4", ip.sixtofour)]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [("Teredo server", server), ("Teredo client", client)]
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return [("NAT64", low)]
    if ip in _COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        return [("IPv4-compatible", low)]
    return []


def _kind_of(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return next((kind for net, kind in _V4 if ip in net), None)
    found = next((kind for net, kind in _V6 if ip in net), None)
    if found is None and ip not in _V6_GLOBAL_SPACE:
        return "reserved (outside 2000::/3, the global unicast space)"
    return found


# What each policy lets a webhook URL reach, for people (the console's add form).
ALLOWED_TARGETS = {
    "false": "public addresses only",
    "loopback": "public addresses, and loopback (127.0.0.1, ::1) on this service",
    "true": "public addresses, and private, loopback, link-local, CGN or unique local ones "
    "on this service",
}


def refusal(address: str, policy: str) -> str | None:
    """Why ``address`` may not be delivered to under ``policy`` ("false", "loopback",
    "true": Settings.webhook_allow_private), e.g. ``"multicast"`` or ``"loopback (6to4
    form of 127.0.0.1)"``; None when it may. An address that does not parse is refused."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    carried = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else []
    if not carried:
        return _refusal(ip, policy)
    # The packet ends at the IPv4 address (through a gateway or a tunnel): that decides.
    for form, inner in carried:
        why = _refusal(inner, policy)
        if why is not None:
            return f"{why} ({form} form of {inner})"
    return None


def _refusal(ip: IPAddress, policy: str) -> str | None:
    kind = _kind_of(ip)
    if kind is None:
        return None
    if policy == "true" and kind in PRIVATE_KINDS:
        return None
    if policy == "loopback" and kind == "loopback":
        return None
    return kind
