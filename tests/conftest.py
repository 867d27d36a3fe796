"""Shared fixtures: every storage-touching test runs on a real SQLite file and on a real
PostgreSQL server. Under CI=true a missing PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.support.contract import check_every_response
from tests.support.shared import shared_dir
from ztd.server.app import create_app
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.server.storage.schema import metadata

PG_ADMIN_URL = os.environ.get("ZTD_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = shared_dir()


def _pg_admin() -> psycopg.Connection[tuple[object, ...]] | None:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        return None


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, migrated once."""
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable (set CI=true to make this an error)")
    name = f"ztd_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(Settings(database_url=url).resolved_database_url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


@dataclass
class World:
    partner: str
    customer: str
    other_partner: str
    other_customer: str  # belongs to other_partner
    sibling_customer: str  # a second customer of partner
    token: str
    other_token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def make_token(settings: Settings, partner: str, **kwargs: object) -> str:
    return issue_token(
        KeyStore(settings.data_dir / "keys"),
        issuer=settings.issuer,
        audience=settings.audience,
        partner_id=partner,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    now = utc_now()
    with db.write() as conn:
        partner = tenancy.add_partner(conn, "Fabrikam Partner", now)
        other_partner = tenancy.add_partner(conn, "Northwind Partner", now)
        customer = tenancy.add_customer(conn, "Contoso", partner, now)
        sibling = tenancy.add_customer(conn, "Litware", partner, now)
        other_customer = tenancy.add_customer(conn, "Adatum", other_partner, now)
    return World(
        partner=partner,
        customer=customer,
        other_partner=other_partner,
        other_customer=other_customer,
        sibling_customer=sibling,
        token=make_token(settings, partner, roles=(Role.ADMIN_AGENT,)),
        other_token=make_token(settings, other_partner, roles=(Role.ADMIN_AGENT,)),
    )


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
