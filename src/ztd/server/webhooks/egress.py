"""Where a delivery may go, and the one HTTP request that delivers it.

A webhook URL is the partner's, so the service must not be turned against its own network
(SSRF): the scheme is http or https, no credentials ride in the URL, and every address the
host resolves to must be global unicast (webhooks/addresses.py) unless
ZTD_WEBHOOK_ALLOW_PRIVATE lets private ones through; a port is 1 to 65535. The name is
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

from ztd.server.webhooks import addresses
from ztd.wire import urls

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
    """The parsed URL when its form is acceptable; EgressRefused otherwise, its message a
    clause about the URL ("has no host") that the caller prefixes with what the URL is."""
    if len(url) > MAX_URL:
        raise EgressRefused(f"is {len(url)} characters long; at most {MAX_URL}.")
    # urlsplit silently drops tabs and newlines: the URL checked must be the URL stored.
    odd = next((i for i, c in enumerate(url) if c.isspace() or ord(c) < 32 or c == "\x7f"), None)
    if odd is not None:
        raise EgressRefused(
            f"has a space or control character at position {odd + 1}; percent-encode it."
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise EgressRefused(f"is not a valid URL ({exc}).") from exc
    if parts.scheme not in ("http", "https"):
        raise EgressRefused(
            f"has the scheme {parts.scheme[:20]!r}; use an http:// or https:// URL."
            if parts.scheme
            else "has no scheme; use an http:// or https:// URL."
        )
    if credentials := urls.credentials_problem(parts):
        raise EgressRefused(credentials)
    if not parts.hostname:
        raise EgressRefused("has no host.")
    _check_port(parts)
    if parts.fragment:
        raise EgressRefused("has a #fragment, which is never sent; remove it.")
    return parts


def _check_port(parts: SplitResult) -> None:
    """A port, when given, is decimal digits from 1 to 65535 (urlsplit takes 0, and what
    int() reads: "+80", "8_0")."""
    host_port = parts.netloc.rpartition("@")[2]
    text = host_port.rpartition("]")[2] if host_port.startswith("[") else host_port
    if ":" not in text:
        return
    port = text.rpartition(":")[2]
    if port == "":
        return  # "host:" is the default port, as in a browser
    if not (port.isascii() and port.isdigit()):
        raise EgressRefused(f"has the port {port[:20]!r}, which is not a number from 1 to 65535.")
    if not 1 <= int(port) <= 65535:
        raise EgressRefused(f"has the port {int(port)}; a port is from 1 to 65535.")


def allowed(address: str, policy: str) -> bool:
    """Whether ``address`` may be connected to under the policy ("true", "false",
    "loopback"; see Settings.webhook_allow_private and addresses.refusal)."""
    return addresses.refusal(address, policy) is None


def pinned_address(parts: SplitResult, policy: str, resolver: Resolver) -> str:
    """Resolve the URL's host once (an IP literal is its own answer) and return the address
    to connect to: the first, when every address is allowed. EgressRefused names the first
    that is not, and why."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _ip_literal(host)
    found = [literal] if literal is not None else resolver(host, port)
    if not found:
        raise EgressRefused(f"{host} resolves to no address.")
    for address in found:
        why = addresses.refusal(address, policy)
        if why is not None:
            named = address if literal is not None else f"{host} resolves to {address}, which"
            raise EgressRefused(
                f"{named} is not a public unicast address: {why}; "
                f"ZTD_WEBHOOK_ALLOW_PRIVATE={policy} refuses it."
            )
    return found[0]


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


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
        except EgressRefused as exc:  # the URL was checked at registration: rare
            return Answer(None, took(), error=f"refused: the URL {exc}")
        try:
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
