"""The token endpoint cannot be used to starve the service or to learn which client ids
exist (issue 20, finding 2): attempts are limited per address and per client id, secrets
are checked in a bounded pool of their own, and an unknown id costs one hash like a wrong
secret."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_error
from tests.support.waiting import wait_until
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.auth.secret_pool import CHECK_NICENESS, SecretPool
from ztd.server.clock import utc_now
from ztd.server.errors import Throttled
from ztd.server.services import applications
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

TOKEN_URL = "/oauth2/token"


def _grant(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


@pytest.fixture
def app_credentials(db: Database, world: World) -> tuple[str, str]:
    with db.write() as conn:
        return applications.add_application(conn, world.partner, "rmm", utc_now())


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The secrets hashed from here on, counted at the hashing seam."""
    seen: list[str] = []
    real = applications._hash

    def counting(secret: str, salt: bytes | None = None) -> str:
        seen.append(secret)
        return real(secret, salt)

    monkeypatch.setattr(applications, "_hash", counting)
    return seen


@pytest.fixture
def serve(db: Database, settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """The real app with some settings changed (the guards are made with the app)."""
    clients: list[TestClient] = []

    def start(**changes: Any) -> TestClient:
        changes = {"token_refusal_delay_seconds": 0, **changes}
        app = create_app(settings.model_copy(update=changes), db=db, embedded_worker=False)
        client = TestClient(app)
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_an_unknown_client_id_costs_one_hash_like_a_wrong_secret(
    client: TestClient, app_credentials: tuple[str, str], hashes: list[str]
) -> None:
    client_id, secret = app_credentials
    cases = {
        "unknown id": (str(uuid.uuid4()), "guess-1"),
        "id that is no GUID": ("not-a-client", "guess-2"),
        "wrong secret": (client_id, "guess-3"),
    }
    for case, (some_id, some_secret) in cases.items():
        before = len(hashes)
        response = client.post(TOKEN_URL, data=_grant(some_id, some_secret))
        assert response.status_code == 401, case
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "Unknown client or wrong secret.",
        }
        assert hashes[before:] == [some_secret], case  # exactly one hash, of this secret
    before = len(hashes)
    assert client.post(TOKEN_URL, data=_grant(client_id, secret)).status_code == 200
    assert hashes[before:] == [secret]


def test_attempts_from_one_address_are_limited(
    serve: Callable[..., TestClient], hashes: list[str]
) -> None:
    client = serve(token_attempts_per_address="3/minute")
    for n in range(3):
        assert client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), f"s{n}")).status_code == 401
    refused = client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), "s3"))
    body = assert_error(refused, 429, "429")
    assert "Too many token requests from testclient (at most 3 per 1 minute)" in body["description"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(hashes) == 3  # the refused attempt hashed nothing
    # Malformed requests count too: each one still costs the service a body to read.
    assert client.post(TOKEN_URL, data={"grant_type": "password"}).status_code == 429


def test_attempts_for_one_client_id_are_limited(
    serve: Callable[..., TestClient], app_credentials: tuple[str, str], hashes: list[str]
) -> None:
    client = serve(token_attempts_per_client="2/minute")
    client_id, secret = app_credentials
    assert client.post(TOKEN_URL, data=_grant(client_id, "wrong")).status_code == 401
    assert client.post(TOKEN_URL, data=_grant(client_id.upper(), "wrong")).status_code == 401
    refused = client.post(TOKEN_URL, data=_grant(f" {client_id} ", secret))  # the same id
    body = assert_error(refused, 429, "429")
    assert "for this client id (at most 2 per 1 minute)" in body["description"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(hashes) == 2
    # Another client id is not held back by this one's attempts.
    assert client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), "x")).status_code == 401


def test_a_refusal_is_answered_after_the_delay(serve: Callable[..., TestClient]) -> None:
    # A lower bound only: the answer is held at least this long, so a client retrying at
    # once sends about one request per delay and connection.
    client = serve(token_attempts_per_address="0/minute", token_refusal_delay_seconds=0.3)
    started = time.monotonic()
    assert_error(client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), "x")), 429, "429")
    assert time.monotonic() - started >= 0.3


def test_oversized_credentials_are_refused_before_hashing(
    client: TestClient, hashes: list[str]
) -> None:
    response = client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), "s" * 100_000))
    assert response.status_code == 400
    assert "client_secret at most 1024; these are 36 and 100000" in response.text
    assert hashes == []


def test_a_full_pool_answers_429_at_once(
    serve: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = serve(token_hash_workers=1, token_hash_queue=0)
    pool: SecretPool = client.app.state.ztd.secret_pool  # type: ignore[attr-defined]
    release = threading.Event()
    real = applications._hash

    def held(secret: str, salt: bytes | None = None) -> str:
        release.wait(30)
        return real(secret, salt)

    monkeypatch.setattr(applications, "_hash", held)
    first: list[int] = []
    waiting = threading.Thread(
        target=lambda: first.append(
            client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), "a")).status_code
        )
    )
    waiting.start()
    wait_until(lambda: pool.taken == 1, interval=0.005)
    refused = client.post(TOKEN_URL, data=_grant(str(uuid.uuid4()), "b"))
    release.set()
    waiting.join(30)
    assert_error(refused, 429, "429")
    assert refused.headers["Retry-After"] == "1"
    assert first == [401]
    assert pool.taken == 0


def test_the_pool_runs_at_most_its_workers_and_queues_at_most_its_queue() -> None:
    pool = SecretPool(workers=2, queue=3)
    release = threading.Event()
    running = peak = 0
    lock = threading.Lock()

    def check() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(30)
        with lock:
            running -= 1
        return "ok"

    async def flood() -> list[str]:
        tasks = [asyncio.ensure_future(pool.run(check)) for _ in range(5)]
        await asyncio.sleep(0)  # let every task take its place
        with pytest.raises(Throttled) as refused:
            await pool.run(check)
        assert refused.value.retry_after >= 1
        await asyncio.to_thread(wait_until, lambda: running == 2, 10.0, 0.005)
        assert pool.taken == 5
        release.set()
        return await asyncio.gather(*tasks)

    try:
        assert asyncio.run(flood()) == ["ok"] * 5
    finally:
        release.set()
        pool.close()
    assert peak == 2 and pool.taken == 0


def test_a_caller_that_gives_up_keeps_its_place_until_its_check_ends() -> None:
    pool = SecretPool(workers=1, queue=0)
    release, started = threading.Event(), threading.Event()

    def check() -> bool:
        started.set()
        return release.wait(30)

    async def abandon() -> None:
        task = asyncio.ensure_future(pool.run(check))
        # Give up once the hash runs: one turn of the loop is not enough on a loaded machine,
        # where the pool's thread may not have picked the check up yet (and a check that never
        # started is cancelled with its caller, freeing its place, as the next test shows).
        assert await asyncio.to_thread(started.wait, 30), "the check never started"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The hash is still running: a new check must not start beside it.
        with pytest.raises(Throttled):
            await pool.run(release.wait, 30)

    try:
        asyncio.run(abandon())
        release.set()
        wait_until(lambda: pool.taken == 0, interval=0.005)
    finally:
        release.set()
        pool.close()


def test_a_caller_that_gives_up_before_its_check_starts_frees_its_place_at_once() -> None:
    """A queued check whose caller gives up never runs: its place is free for the next."""
    pool = SecretPool(workers=1, queue=1)
    release, started = threading.Event(), threading.Event()

    def check() -> bool:
        started.set()
        return release.wait(30)

    async def abandon() -> None:
        running = asyncio.ensure_future(pool.run(check))
        assert await asyncio.to_thread(started.wait, 30), "the check never started"
        queued = asyncio.ensure_future(pool.run(release.wait, 30))  # behind the running one
        await asyncio.sleep(0)
        assert pool.taken == 2
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert pool.taken == 1  # at once: the running check still holds its own
        again = asyncio.ensure_future(pool.run(release.wait, 30))  # not refused
        await asyncio.sleep(0)
        release.set()
        assert await running and await again

    try:
        asyncio.run(abandon())
        wait_until(lambda: pool.taken == 0, interval=0.005)
    finally:
        release.set()
        pool.close()


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_secret_checks_run_at_a_lower_priority_than_the_api() -> None:
    pool = SecretPool(workers=1, queue=0)

    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    try:
        checked = asyncio.run(pool.run(own_niceness))
    finally:
        pool.close()
    assert checked == min(19, own_niceness() + CHECK_NICENESS)
