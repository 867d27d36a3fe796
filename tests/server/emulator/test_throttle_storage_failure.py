"""A throttle storage that fails (Redis not running, a database error): every throttled
request answers 503 in Partner Center's error shape saying which storage and what to do,
the log warns (not once per request), and /readyz says not ready while throttling is on.
Real storages: a Redis URI on a port nothing listens on, and working ones beside it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from tests.support.emulator import operator_auth
from tests.support.live_server import free_port
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.emulator import throttle
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.url_text import shown_url

REDIS = os.environ.get("ZTD_TEST_REDIS", "redis://127.0.0.1:6379/0")


@contextmanager
def app_client(settings: Settings, db: Database, **changes: object) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=changes), db=db, embedded_worker=False)
    with TestClient(app) as client:
        yield client


def closed_redis() -> str:
    """A Redis URI with credentials, on a port nothing listens on: connections are refused."""
    return f"redis://ztd-user:s3cret-pw@127.0.0.1:{free_port()}/0"


def test_a_storage_that_refuses_connections_answers_503_and_readyz_is_not_ready(
    settings: Settings, db: Database, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    storage = closed_redis()
    shown = storage.replace("ztd-user:s3cret-pw@", "ztd-user:***@")
    batches = f"/v1/customers/{world.customer}/deviceBatches"
    with app_client(settings, db, throttle_storage=storage, throttle_partner="3/60") as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "ZTD_THROTTLE_STORAGE" in ready.json()["description"]
        assert "s3cret" not in ready.text and "127.0.0.1" not in ready.text  # no token asked
        assert client.get("/healthz").status_code == 200  # alive, only not ready

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ztd.server"):
            answers = [client.get(batches, headers=world.auth()) for _ in range(5)]
        for answer in answers:
            assert answer.status_code == 503, answer.text
            body = answer.json()
            assert set(body) == {"code", "description", "data", "source"}
            assert body["code"] == "503" and body["data"] == []
            assert f"ZTD_THROTTLE_STORAGE={shown} is not answering" in body["description"]
            assert "ZTD_THROTTLE_STORAGE=database" in body["description"]
            assert "s3cret" not in answer.text  # the user name stays: it is no secret
            assert answer.headers["content-type"].startswith("application/json")
            assert "ms-requestid" in answer.headers  # Partner Center's headers, as always
        warnings = [r for r in caplog.records if "throttling storage" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]  # not one per request
        assert shown in warnings[0].getMessage() and "ConnectionError" in warnings[0].getMessage()
        assert "s3cret" not in caplog.text

        op = operator_auth(settings, world)
        state = client.get("/_ztd/v1/throttling", headers=op)  # no bucket was counted
        assert state.status_code == 200 and state.json()["buckets"] == []

        # Throttling off: the storage is not asked, and the process is ready again.
        assert client.put("/_ztd/v1/throttling", json={}, headers=op).status_code == 200
        assert client.get(batches, headers=world.auth()).status_code == 200
        assert client.get("/readyz").status_code == 200


def test_throttling_turned_on_later_makes_readyz_ask_the_storage(
    settings: Settings, db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttling off: a storage nobody asks does not matter. Turned on with PUT, /readyz
    pings the storage (at most every HEALTH_SECONDS: 0 here, so each probe asks)."""
    monkeypatch.setattr(throttle, "HEALTH_SECONDS", 0.0)
    op = operator_auth(settings, world)
    with app_client(settings, db, throttle_storage=closed_redis()) as client:
        assert client.get("/readyz").status_code == 200
        body = {"customer": {"requests": 5, "perSeconds": 60}}
        assert client.put("/_ztd/v1/throttling", json=body, headers=op).status_code == 200
        assert client.get("/readyz").status_code == 503
        # The customer scope only: a request for no customer is not counted, so it is served.
        assert client.get("/v1/customers", headers=world.auth()).status_code == 200
        batches = f"/v1/customers/{world.customer}/deviceBatches"
        assert client.get(batches, headers=world.auth()).status_code == 503


def test_readyz_pings_the_storage_at_most_every_few_seconds(
    settings: Settings, db: Database, world: World
) -> None:
    """Between pings /readyz repeats the last answer; a request that finds the storage
    failing is reported at once."""
    with app_client(settings, db, throttle_storage="memory://", throttle_partner="3/60") as client:
        throttler = client.app.state.emulator.throttler  # type: ignore[attr-defined]
        pings = 0
        check = throttler.counter.check

        async def counted() -> bool:
            nonlocal pings
            pings += 1
            return bool(await check())

        throttler.counter.check = counted
        for _ in range(5):
            assert client.get("/readyz").status_code == 200
        assert pings == 1
        throttler.failed(ConnectionError("refused"))
        assert client.get("/readyz").status_code == 503
        assert pings == 1


@pytest.mark.parametrize("storage", ["database", "memory://", REDIS])
def test_a_working_storage_is_unaffected(
    settings: Settings, db: Database, world: World, storage: str
) -> None:
    batches = f"/v1/customers/{world.customer}/deviceBatches"
    with app_client(settings, db, throttle_storage=storage, throttle_partner="2/60") as client:
        assert client.get("/readyz").status_code == 200
        statuses = [client.get(batches, headers=world.auth()).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("setting", "shown"),
    [
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis+sentinel://:pw@a:26379,b:26379/main", "redis+sentinel://:***@a:26379,b:26379/main"),
        (
            "rediss://host:6380/1?password=pw&ssl_cert_reqs=none",
            "rediss://host:6380/1?password=***&ssl_cert_reqs=none",
        ),
        ("memory://", "memory://"),
        ("postgresql+psycopg://ztd:pw@db:5432/ztd", "postgresql+psycopg://ztd:***@db:5432/ztd"),
        ("http://[::1", "http://..."),
    ],
)
def test_the_storage_is_shown_without_credentials(setting: str, shown: str) -> None:
    assert shown_url(setting) == shown
