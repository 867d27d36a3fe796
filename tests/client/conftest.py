"""SDK tests: the real app in-process (TestClient for the sync client, httpx's ASGI
transport for the async one) and over a socket. Time is fake: the injected ``sleep`` records
each wait, advances the clock and lets the worker process what is queued, so polling is
deterministic and instant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.fake_time import FakeTime
from tests.support.sdk import PAGE_SIZE
from tests.support.world import World
from ztd.client import PartnerClient
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


@pytest.fixture
def backend() -> str:
    # The SDK does not care about storage; the server tests run both backends.
    return "sqlite"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        chunk_size=50,
        lease_seconds=5,
        poll_interval_seconds=0.05,
        page_size=PAGE_SIZE,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_time(worker: Worker) -> FakeTime:
    return FakeTime(worker)


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db=db, embedded_worker=False)


@pytest.fixture
def partner(client: TestClient, world: World, fake_time: FakeTime) -> Iterator[PartnerClient]:
    """The sync SDK over the in-process app, as the partner of ``world``."""
    with PartnerClient(
        "http://testserver",
        token=world.token,
        http_client=client,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as sdk:
        yield sdk
