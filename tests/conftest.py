"""Shared fixtures: every storage-touching test runs on a real SQLite file and on a real
PostgreSQL server. Under CI=true a missing PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.support.contract import check_every_response
from tests.support.postgres import throwaway_database
from tests.support.receiver import Receiver, receiver
from tests.support.world import World, seed_world
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.server.storage.schema import metadata


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, migrated once."""
    with throwaway_database() as url:
        db = Database(Settings(database_url=url).resolved_database_url)
        migrate.upgrade(db)
        db.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ztd.sqlite3'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        chunk_size=50,
        lease_seconds=5,
        poll_interval_seconds=0.05,
    )


@pytest.fixture
def db(settings: Settings, backend: str) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    if backend == "sqlite":
        migrate.upgrade(database)
    else:
        _truncate_all(database)
    yield database
    database.dispose()


def _truncate_all(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with database.write() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


# A seeded world for API tests: two partners, their customers, tokens, the real ASGI app.


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    return seed_world(db, settings)


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    """The real app in-process, without the embedded worker: tests drive `worker`."""
    app = create_app(settings, db=db, embedded_worker=False)
    with TestClient(app) as test_client:
        check_every_response(test_client)  # every answer conforms to the OpenAPI document
        yield test_client


@pytest.fixture
def worker(db: Database, settings: Settings) -> Worker:
    return Worker(db, settings)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A real webhook endpoint on 127.0.0.1 (tests/support/receiver.py)."""
    with receiver() as found:
        yield found


@pytest.fixture
def loopback(settings: Settings) -> Settings:
    """The settings, allowing webhook targets on loopback (where ``hook`` listens)."""
    settings.webhook_allow_private = "loopback"
    return settings
