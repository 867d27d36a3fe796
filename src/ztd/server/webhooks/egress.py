"""Where a delivery may go, and the one HTTP request that delivers it.

A webhook URL is the partner's, so the service must not be turned against its own network
(SSRF): the scheme is http or https, no credentials ride in the URL, and every address the
host resolves to must be public unless ZTD_WEBHOOK_ALLOW_PRIVATE says otherwise. The name is
resolved once per attempt and the connection goes to that very address (the Host header
and TLS SNI keep the name): a DNS answer that changes between the check and the connect
(rebinding) cannot slip a private address in. Redirects are not followed, time and the
response read are bounded."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

# (host, port) -> the addresses it resolves to, as text. Tests inject their own.
Resolver = Callable[[str, int], list[str]]
MAX_URL = 2048
EXCERPT_CHARS = 1024


class EgressRefused(ValueError):
    """The URL, or an address it resolves to, may not be delivered to; says why."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise EgressRefused(f"{host} does not resolve: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str) -> SplitResult:
    """The parsed URL when its form is acceptable; EgressRefused otherwise."""
    if len(url) > MAX_URL:
        raise EgressRefused(f"webhookUrl is {len(url)} characters; at most {MAX_URL}.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port out of range)
    except ValueError as exc:
        raise EgressRefused(f"webhookUrl is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise EgressRefused("webhookUrl must be an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise EgressRefused("webhookUrl must not carry credentials (user:password@).")
    if not parts.hostname:
        raise EgressRefused("webhookUrl has no host.")
    if parts.fragment:
        raise EgressRefused("webhookUrl must not have a #fragment.")
    return parts


def allowed(address: str, policy: str) -> bool:
    """Whether ``address`` may be connected to under the policy ("true", "false",
    "loopback"; see Settings.webhook_allow_private)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_global:
        return True
    if policy == "true":
        return not ip.is_multicast and not ip.is_unspecified
    return policy == "loopback" and ip.is_loopback


def pinned_address(parts: SplitResult, policy: str, resolver: Resolver) -> str:
    """Resolve the URL's host once and return the address to connect to: the first, when
    every address is allowed. EgressRefused names the first that is not."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolver(host, port)
    if not addresses:
        raise EgressRefused(f"{host} resolves to no address.")
    for address in addresses:
        if not allowed(address, policy):
            raise EgressRefused(
                f"{host} resolves to {address}, a private, loopback or link-local address "
                f"(ZTD_WEBHOOK_ALLOW_PRIVATE={policy})."
            )
    return addresses[0]


def check_target(url: str, policy: str, resolver: Resolver) -> None:
    """At registration: the URL's form and where it resolves to now."""
    pinned_address(check_url(url), policy, resolver)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got: an HTTP status, or an error saying why there was none."""

    status_code: int | None
    latency_ms: int
    excerpt: str | None = None
    error: str | None = None


class Sender:
    """Sends deliveries with one connection pool; ``send`` never raises for the endpoint's
    faults (they come back in the Answer)."""

    def __init__(
        self, *, policy: str, timeout: float, max_bytes: int, resolver: Resolver = system_resolver
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.resolver = resolver
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self.client.close()

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            parts = check_url(url)
            address = pinned_address(parts, self.policy, self.resolver)
        except EgressRefused as exc:
            return Answer(None, took(), error=f"refused: {exc}")
        host = parts.hostname or ""
        literal = f"[{address}]" if ":" in address else address
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        request = self.client.build_request(
            "POST",
            target,
            content=body,
            headers={**headers, "Host": host_header, "Content-Type": "application/json"},
            # TLS: the certificate is checked against the name, not the pinned address.
            extensions={"sni_hostname": host} if parts.scheme == "https" else {},
        )
        try:
            response = self.client.send(request, stream=True)
            try:
                excerpt = self._read_bounded(response, started + 2 * self.timeout)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            return Answer(None, took(), error=f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS])
        return Answer(response.status_code, took(), excerpt=excerpt)

    def _read_bounded(self, response: httpx.Response, deadline: float) -> str:
        """Up to max_bytes of the body, read until ``deadline`` (perf_counter) at the latest:
        httpx's read timeout is per read, which an answer dripping a byte at a time would
        never hit. The rest is not read; the start comes back as text."""
        read = bytearray()
        for piece in response.iter_raw():
            read += piece
            if len(read) >= self.max_bytes or time.perf_counter() > deadline:
                break
        return read[:EXCERPT_CHARS].decode("utf-8", "replace")
