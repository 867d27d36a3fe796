"""Safe egress: refused URL forms, private and link-local ranges refused at registration and
at delivery (a DNS answer that changes in between: rebinding), unless allowed."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.webhooks import REG, Webhooks
from tests.support.world import World
from ztd.server.settings import Settings
from ztd.server.storage.schema import webhook_attempts
from ztd.server.webhooks import egress

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata: link-local
        "100.64.0.1",  # carrier-grade NAT
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",  # an IPv4-mapped private address
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused_unless_allowed(
    address: str,
) -> None:
    assert not egress.allowed(address, "false")
    loopback = address in ("127.0.0.1", "::1", "::ffff:127.0.0.1")
    assert egress.allowed(address, "loopback") is loopback
    assert egress.allowed(address, "true") is (address != "0.0.0.0")
    assert egress.allowed(PUBLIC, "false")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/x", "http:// or https://"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com:99999/x", "port 99999; a port is from 1 to 65535"),
        ("https://8.8.8.8:0/x", "port 0; a port is from 1 to 65535"),
        ("https://hooks.example.com:+80/x", "not a number from 1 to 65535"),
        ("https://hooks.example.com:8_0/x", "not a number from 1 to 65535"),
        ("https://hooks.example.com/a b", "space or control character at position 28"),
        ("https://hooks.exa\tmple.com/x", "space or control character at position 18"),
        ("https:///x", "no host"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://hooks.example.com/" + "a" * 3000, "at most"),
    ],
)
def test_malformed_targets_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(egress.EgressRefused, match=why):
        egress.check_url(url)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("resolved", "policy", "status"),
    [
        (["10.0.0.5"], "false", 400),
        ([PUBLIC, "10.0.0.5"], "false", 400),  # every address must be public
        (["127.0.0.1"], "false", 400),
        (["127.0.0.1"], "loopback", 201),
        (["10.0.0.5"], "true", 201),
        ([PUBLIC], "false", 201),
    ],
)
def test_registration_refuses_a_host_resolving_to_a_private_address(
    client: TestClient,
    settings: Settings,
    world: World,
    backend: str,
    resolved: list[str],
    policy: str,
    status: int,
) -> None:
    settings.webhook_allow_private = policy  # type: ignore[assignment]
    client.app.state.webhook_resolver = lambda _host, _port: resolved  # type: ignore[attr-defined]
    response = client.post(
        REG,
        json={
            "webhookUrl": "https://hooks.example.com/in",
            "webhookEvents": ["devicebatch.created"],
        },
        headers=world.auth(),
    )
    assert response.status_code == status, response.text
    if status == 400:
        assert "is not a public unicast address" in response.json()["description"]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://224.0.0.1/x", "224.0.0.1 is not a public unicast address: multicast"),
        ("http://[64:ff9b::7f00:1]/x", "loopback (NAT64 form of 127.0.0.1)"),
        ("http://[2002:7f00:1::]/x", "loopback (6to4 form of 127.0.0.1)"),
        ("http://[::a00:1]/x", "private (IPv4-compatible form of 10.0.0.1)"),
        ("http://255.255.255.255/x", "broadcast"),
        ("http://240.0.0.1/x", "reserved"),
        ("http://198.51.100.7/x", "documentation (TEST-NET-2)"),
        ("http://[2001:db8::1]/x", "documentation"),
        ("http://[ff02::1]/x", "multicast"),
        ("https://8.8.8.8:0/x", "a port is from 1 to 65535"),
    ],
)
def test_literal_addresses_of_every_non_global_class_are_refused_at_registration(
    client: TestClient, settings: Settings, world: World, backend: str, url: str, why: str
) -> None:
    """IP literals are their own answer (no DNS); each class is named in the refusal."""
    settings.webhook_allow_private = "false"
    response = client.post(
        REG,
        json={"webhookUrl": url, "webhookEvents": ["devicebatch.created"]},
        headers=world.auth(),
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert why in body["description"] and body["description"].count("webhookUrl") == 1
    assert body["data"] == [body["description"].removeprefix("Invalid WebhookRegistration: ")]


@pytest.mark.parametrize(
    "address", ["224.0.0.1", "255.255.255.255", "192.0.2.1", "64:ff9b::e000:1", "2002:e000:1::"]
)
def test_multicast_broadcast_and_documentation_addresses_are_refused_under_every_policy(
    address: str,
) -> None:
    for policy in ("false", "loopback", "true"):
        assert not egress.allowed(address, policy), (address, policy)


def test_a_name_rebound_to_multicast_or_nat64_loopback_is_refused_at_delivery(
    webhooks: Webhooks,
) -> None:
    webhooks.settings.webhook_allow_private = "false"
    _subscribe_by_name(webhooks, "rebind.example.com", "/hook", [PUBLIC])
    webhooks.finish_a_job("rebound", seed=4)
    answers = iter([["224.0.0.1"], ["64:ff9b::7f00:1"]])
    deliverer = webhooks.deliverer(resolver=lambda _host, _port: next(answers))
    webhooks.settings.webhook_retry_seconds = [0, 0]
    assert deliverer.deliver_due() == 2  # the retry is due at once
    assert webhooks.hook.received == []
    with webhooks.db.read() as conn:
        errors = conn.execute(select(webhook_attempts.c.error).order_by(webhook_attempts.c.pk))
        first, second = errors.scalars().all()
    assert "224.0.0.1, which is not a public unicast address: multicast" in first
    assert "loopback (NAT64 form of 127.0.0.1)" in second


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_delivery(
    webhooks: Webhooks,
) -> None:
    webhooks.settings.webhook_allow_private = "false"
    _subscribe_by_name(webhooks, "rebind.example.com", "/hook", [PUBLIC])
    webhooks.finish_a_job("rebound", seed=4)
    # The name now answers 127.0.0.1, where the receiver listens: nothing may reach it.
    deliverer = webhooks.deliverer(resolver=lambda _host, _port: ["127.0.0.1"])
    assert deliverer.deliver_due() == 1
    assert webhooks.hook.received == []
    with webhooks.db.read() as conn:
        (attempt,) = conn.execute(select(webhook_attempts)).all()
    assert attempt.status_code is None and "refused" in attempt.error
    assert "127.0.0.1" in attempt.error


def test_the_connection_goes_to_the_address_checked_with_the_name_as_host(
    webhooks: Webhooks,
) -> None:
    """Pinning: one resolution per attempt; the request reaches that address, and carries
    the URL's name in Host (a second, different answer is never asked for)."""
    _subscribe_by_name(webhooks, "pinned.example.com", "/hook?x=1", ["127.0.0.1"])
    webhooks.finish_a_job("pinned", seed=6)
    answers = iter([["127.0.0.1"], [PUBLIC]])
    lookups: list[str] = []

    def resolve(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    assert webhooks.deliverer(resolver=resolve).deliver_due() == 1
    assert lookups == ["pinned.example.com"]
    (got,) = webhooks.hook.received
    port = urlsplit(webhooks.hook.url).port
    assert got.headers["host"] == f"pinned.example.com:{port}" and got.path == "/hook?x=1"


def _subscribe_by_name(webhooks: Webhooks, name: str, path: str, resolved: list[str]) -> None:
    """Subscribe at ``name`` on the receiver's port, the app resolving ``name`` to
    ``resolved`` when it checks the registration."""
    port = urlsplit(webhooks.hook.url).port
    webhooks.client.app.state.webhook_resolver = lambda _host, _port: resolved  # type: ignore[attr-defined]
    webhooks.subscribe(url=f"http://{name}:{port}{path}")


def test_redirects_are_not_followed_and_a_large_answer_is_cut() -> None:
    """A 3xx is an answer (a failed attempt), not a new target."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/redirect":
                self.send_response(307)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"x" * 1_000_000
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sender = egress.Sender(policy="loopback", timeout=5, max_bytes=4096)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        redirected = sender.send(f"{base}/redirect", b"{}", {})
        assert redirected.status_code == 307 and hits == ["/redirect"]
        large = sender.send(f"{base}/large", b"{}", {})
        assert large.status_code == 500
        assert large.excerpt is not None and len(large.excerpt) == egress.EXCERPT_CHARS
        sender.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timing
def test_an_answer_dripping_slowly_is_cut_off_at_twice_the_timeout() -> None:
    """httpx's read timeout is per read: a byte every 0.1 s never trips a 0.5 s timeout."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(1000):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sender = egress.Sender(policy="loopback", timeout=0.5, max_bytes=1_000_000)
        started = time.monotonic()
        answer = sender.send(f"http://127.0.0.1:{server.server_address[1]}/", b"{}", {})
        assert time.monotonic() - started < 3.0
        assert answer.status_code == 200 and answer.excerpt and answer.excerpt.startswith("x")
        sender.close()
    finally:
        server.shutdown()
        server.server_close()
