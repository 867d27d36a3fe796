"""Throwaway PostgreSQL databases on the test server (ZTD_TEST_PG_ADMIN, trust auth).

Outside CI an unreachable server skips the PostgreSQL variant of a test; under CI=true it
fails the run, so a broken CI database cannot pass as a green suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.support.ci import IN_CI

PG_ADMIN_URL = os.environ.get("ZTD_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the server's maintenance database; skips (fails in CI)
    when the server is not reachable."""
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL is not reachable (set CI=true to make this an error): {exc}")


@contextmanager
def throwaway_database(prefix: str = "ztd_test") -> Iterator[str]:
    """The URL of a new, empty database, dropped (with its connections) on exit."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
