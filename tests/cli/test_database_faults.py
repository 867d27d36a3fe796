"""A database the CLI cannot open or migrate is one line on stderr and exit code 2: what
failed, which database (password hidden), what to do. Real PostgreSQL server, real SQLite
files, the real `ztd` app; one real `ztd worker` process for the start-up line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.support.live_server import free_port
from tests.support.postgres import pg_admin, throwaway_database
from ztd.cli.main import build

PG = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`ztd worker` points the root logger at its stderr, which CliRunner closes after the
    command: later tests in this process would log into a closed file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(
    monkeypatch: pytest.MonkeyPatch, url: str | None, *argv: str, data_dir: Path
) -> tuple[int, str]:
    if url is None:
        monkeypatch.delenv("ZTD_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("ZTD_DATABASE_URL", url)
    monkeypatch.setenv("ZTD_DATA_DIR", str(data_dir))
    # `ztd serve` sets variables for the server processes it starts (the metrics'
    # multiprocess directory, the embedded worker's switch); run in this process, they would
    # change every later test's metrics. The command gets its own copy of the environment.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    result = CliRunner().invoke(build(["ztd", *argv]), list(argv))
    return result.exit_code, result.stderr


def assert_one_line(code: int, stderr: str, *fragments: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def foreign_database() -> Iterator[str]:
    """A database that already holds another application's `partners` table."""
    with throwaway_database("ztd_foreign") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE partners (id integer)")
        yield url


def test_upgrade_of_a_database_with_foreign_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, foreign_database: str
) -> None:
    code, stderr = run(monkeypatch, foreign_database, "db", "upgrade", data_dir=tmp_path)
    assert_one_line(code, stderr, "cannot migrate", "partners", "empty database")


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        (f"{PG}/ztd_no_such_db", ["ztd_no_such_db", "does not exist", "createdb"]),
        ("postgresql://postgres:s3cret@127.0.0.1:5999/x", [":5999", "refused", "running"]),
        ("postgresql://postgres:s3cret@127.0.0.2:5999/x", ["127.0.0.2", "refused"]),
        ("postgresql://nosuchrole:pw@127.0.0.1:5432/postgres", ["nosuchrole", "user and password"]),
        ("mysql://x/y", ["mysql://x/y", "MySQLdb", "postgresql://"]),
        ("oracle+nosuch://x/y", ["not supported", "sqlite:///"]),
        ("nonsense", ["not valid"]),
    ],
)
@pytest.mark.parametrize(
    "argv", [("db", "upgrade"), ("worker", "--once"), ("admin", "partner", "list")]
)
def test_unopenable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    url: str,
    fragments: list[str],
    argv: tuple[str, ...],
) -> None:
    pg_admin().close()  # the PostgreSQL cases need the server up (skips, or fails in CI)
    code, stderr = run(monkeypatch, url, *argv, data_dir=tmp_path)
    line = assert_one_line(code, stderr, *fragments)
    assert "s3cret" not in stderr
    assert "s3cret" not in line


def test_serve_on_a_missing_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, stderr = run(
        monkeypatch, f"{PG}/ztd_no_such_db", "serve", "--port", str(free_port()), data_dir=tmp_path
    )
    assert_one_line(code, stderr, "cannot open", "ztd_no_such_db", "createdb")
    assert "database postgresql+psycopg://postgres@127.0.0.1:5432/ztd_no_such_db" in stderr


@pytest.mark.parametrize("where", ["under_a_file", "unmakeable"])
def test_sqlite_file_that_cannot_be_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    data_dir = blocker / "data" if where == "under_a_file" else Path("/proc/ztd-test/data")
    code, stderr = run(monkeypatch, None, "db", "upgrade", data_dir=data_dir)
    assert_one_line(code, stderr, "sqlite:///", "ZTD_DATA_DIR")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_sqlite_in_a_read_only_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_dir = tmp_path / "ro"
    data_dir.mkdir(mode=0o500)
    code, stderr = run(monkeypatch, None, "db", "upgrade", data_dir=data_dir)
    assert_one_line(code, stderr, "sqlite:///", "ZTD_DATA_DIR")


def test_worker_says_which_database_it_uses(tmp_path: Path) -> None:
    """A real `ztd worker` without ZTD_DATABASE_URL names the SQLite default it falls back
    to, so an operator expecting their PostgreSQL queue sees the mistake; with a URL it
    names that URL, password hidden."""
    env = {k: v for k, v in os.environ.items() if k != "ZTD_DATABASE_URL"}
    env["ZTD_DATA_DIR"] = str(tmp_path)
    ztd = [str(Path(sys.executable).parent / "ztd")]
    default = subprocess.run(
        [*ztd, "worker", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert default.returncode == 0, default.stderr
    assert (
        f"database sqlite:///{tmp_path.resolve()}/ztd.sqlite3 (default: no ZTD_DATABASE_URL)"
        in default.stderr
    )
    env["ZTD_DATABASE_URL"] = "postgresql://postgres:s3cret@127.0.0.1:5999/queue"
    named = subprocess.run(
        [*ztd, "worker", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert named.returncode == 2
    assert (
        "database postgresql+psycopg://postgres:***@127.0.0.1:5999/queue (ZTD_DATABASE_URL)"
        in named.stderr
    )
    assert "s3cret" not in named.stderr
    assert "Traceback" not in named.stderr
