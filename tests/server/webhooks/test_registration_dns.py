"""A webhook URL's host is resolved with no write transaction open: SQLite has one writer,
and a resolver taking seconds must not hold up uploads and status writes meanwhile, neither
when a registration is checked (POST, PUT) nor when a delivery is sent."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.support.api import create_batch, hash_device
from tests.support.webhooks import REG, Webhooks, send_test_event, subscribe
from tests.support.world import World
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

SLOW_HOST = "slow-dns.example.com"
PUBLIC = "93.184.216.34"
WAIT = 10.0  # seconds a write may take before it counts as held up


class SlowDns:
    """``socket.getaddrinfo`` (the true external boundary) answering for SLOW_HOST only once
    ``release`` is set, with ``address``: a resolver that takes as long as the test wants.
    Any other name goes to the real one."""

    def __init__(self, real: Callable[..., Any], address: str) -> None:
        self.real, self.address = real, address
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != SLOW_HOST:
            return self.real(host, port, *args, **kwargs)
        self.entered.set()
        if not self.release.wait(60):
            raise socket.gaierror(socket.EAI_AGAIN, "the test never released the lookup")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.address, port or 0))]


@pytest.fixture
def slow_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], SlowDns]]:
    made: list[SlowDns] = []

    def make(address: str) -> SlowDns:
        dns = SlowDns(socket.getaddrinfo, address)
        monkeypatch.setattr(socket, "getaddrinfo", dns)
        made.append(dns)
        return dns

    yield make
    for dns in made:  # never leave a request thread waiting
        dns.release.set()


def _upload(client: TestClient, world: World) -> None:
    create_batch(client, world.customer, world.auth(), "during-dns", [hash_device(41)])


def _rotate_other(client: TestClient, world: World) -> None:
    other = subscribe(client, world, f"https://{PUBLIC}/other")
    rotated = client.post(f"{REG}/{other['id']}/rotateSecret", json={}, headers=world.auth())
    assert rotated.status_code == 200, rotated.text


def _create(client: TestClient, world: World, url: str) -> Any:
    body = {"webhookUrl": url, "webhookEvents": ["devicebatch.created"]}
    return client.post(REG, json=body, headers=world.auth())


def _replace(client: TestClient, world: World, url: str) -> Any:
    first = subscribe(client, world, f"https://{PUBLIC}/first")
    body = {"webhookUrl": url, "webhookEvents": ["devicebatch.created"]}
    return client.put(f"{REG}/{first['id']}", json=body, headers=world.auth())


@pytest.mark.parametrize(
    ("address", "status"), [(PUBLIC, None), ("10.1.2.3", 400)], ids=["allowed", "refused"]
)
@pytest.mark.parametrize("register", [_create, _replace], ids=["POST", "PUT"])
@pytest.mark.parametrize("other_write", [_upload, _rotate_other], ids=["upload", "api-write"])
def test_a_slow_lookup_at_registration_holds_no_writer(
    client: TestClient,
    settings: Settings,
    world: World,
    slow_dns: Callable[[str], SlowDns],
    register: Callable[[TestClient, World, str], Any],
    other_write: Callable[[TestClient, World], None],
    address: str,
    status: int | None,
) -> None:
    """While the registration's host is being resolved, another write completes; the
    registration then answers as it always did (201/200, or the 400 naming webhookUrl)."""
    dns = slow_dns(address)
    url = f"https://{SLOW_HOST}/hook"
    with ThreadPoolExecutor(2) as pool:
        registering = pool.submit(register, client, world, url)
        assert dns.entered.wait(WAIT), "the registration never resolved its host"
        try:
            pool.submit(other_write, client, world).result(timeout=WAIT)
        finally:
            dns.release.set()
        answer = registering.result(timeout=WAIT)
    expected = status or (201 if register is _create else 200)
    assert answer.status_code == expected, answer.text
    if status == 400:
        assert answer.json()["data"] == [
            f"webhookUrl: {SLOW_HOST} resolves to 10.1.2.3, which is not a public unicast "
            f"address: private; ZTD_WEBHOOK_ALLOW_PRIVATE={settings.webhook_private_policy} "
            "refuses it."
        ]
    else:
        assert answer.json()["webhookUrl"] == url


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_refused_url_keeps_the_errors_checked_before_it(
    client: TestClient, world: World, backend: str
) -> None:
    """The lookup moved out of the transaction; what the transaction checks first still
    answers first: 404 for a missing registration, 409 for a listen channel's URL."""
    client.app.state.webhook_resolver = lambda _h, _p: ["10.1.2.3"]  # type: ignore[attr-defined]
    body = {"webhookUrl": "https://private.example.com/x", "webhookEvents": ["devicebatch.created"]}
    missing = client.put(
        f"{REG}/{'0' * 8}-0000-0000-0000-{'0' * 12}", json=body, headers=world.auth()
    )
    assert missing.status_code == 404, missing.text
    only = client.put(REG, json=body, headers=world.auth())  # the partner holds no endpoint
    assert only.status_code == 404, only.text
    channel = subscribe(client, world, None)
    to_channel = client.put(f"{REG}/{channel['id']}", json=body, headers=world.auth())
    assert to_channel.status_code == 409, to_channel.text
    assert "is a listen channel" in to_channel.json()["description"]
    refused = client.post(REG, json=body, headers=world.auth())
    assert refused.status_code == 400, refused.text
    assert refused.json()["data"][0].startswith("webhookUrl: private.example.com resolves to")


def _writer_is_free(db: Database) -> bool:
    """Whether a write from another thread completes within WAIT seconds now."""
    done = threading.Event()

    def write() -> None:
        with db.write() as conn:
            conn.execute(text("UPDATE webhook_subscriptions SET id = id WHERE 1 = 0"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(WAIT)


def test_each_delivery_attempt_resolves_with_no_writer_held(webhooks: Webhooks) -> None:
    """Delivery resolves the host again on every attempt (pinned to the address found):
    that lookup, too, runs while no write transaction is open."""
    port = urlsplit(webhooks.hook.url).port
    webhooks.client.app.state.webhook_resolver = lambda _h, _p: ["127.0.0.1"]  # type: ignore[attr-defined]
    webhooks.subscribe(url=f"http://hook.example.com:{port}/in")
    send_test_event(webhooks.client, webhooks.world)
    free: list[bool] = []

    def resolve(_host: str, _port: int) -> list[str]:
        free.append(_writer_is_free(webhooks.db))
        return ["127.0.0.1"]

    assert webhooks.deliverer(resolver=resolve).deliver_due() == 1
    assert free == [True]
    assert len(webhooks.hook.wait_for(1)) == 1
