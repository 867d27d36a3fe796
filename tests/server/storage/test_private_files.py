"""The database, its WAL and shared-memory files and the signing keys are the server user's
alone: created private whatever the umask, tightened when found readable by others."""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.waiting import wait_for_http
from ztd.server.auth.keys import KeyStore
from ztd.server.storage import migrate
from ztd.server.storage.database import Database

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow  # a real `ztd serve`: starting it takes seconds
def test_a_real_start_makes_everything_private_even_with_a_permissive_umask(
    tmp_path: Path,
) -> None:
    data = tmp_path / "fresh" / "data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env["ZTD_DATA_DIR"] = str(data)
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "ztd", "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.umask(0),  # everything would be 0666 / 0777 by default
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", server, log)
        database = data / "ztd.sqlite3"
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        files += list((data / "keys").glob("*.pem"))
        assert len(files) == 4, sorted(p.name for p in data.rglob("*"))
        assert {p.name: oct(_mode(p)) for p in files} == {p.name: "0o600" for p in files}
        directories = [tmp_path / "fresh", data, data / "keys"]
        assert [oct(_mode(d)) for d in directories] == ["0o700"] * 3
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)  # a server still starting on a loaded machine takes its time
        except subprocess.TimeoutExpired:
            server.kill()  # a failure above stays the one reported
            server.wait(10)
    assert server.returncode == 0, "ztd serve did not stop cleanly within 60 s of SIGTERM"


def test_existing_files_readable_by_others_are_tightened_and_their_directory_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    database = shared / "ztd.sqlite3"
    loose = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path, mode in zip(loose, (0o644, 0o666, 0o640), strict=True):
        path.touch()
        path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="ztd.storage"):
        db = Database(f"sqlite:///{database}")
        try:
            migrate.upgrade(db)  # SQLite takes the empty files over as they are
            # (the last connection to close deletes -wal and -shm: looked at before)
            assert [oct(_mode(p)) for p in loose] == ["0o600"] * 3
        finally:
            db.dispose()
    assert _mode(shared) == 0o755  # a directory may be shared on purpose: reported only
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert f"{shared} is open to other users (mode 0o755)" in messages
    for path, mode in zip(loose, ("0o644", "0o666", "0o640"), strict=True):
        assert f"{path} was readable by other users (mode {mode}); it is now 0600" in messages


def test_a_private_file_and_directory_already_in_place_are_left_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _umask(0o077):
        db = Database(f"sqlite:///{tmp_path / 'd' / 'ztd.sqlite3'}")
        db.dispose()
    with caplog.at_level(logging.WARNING, logger="ztd.storage"):
        db = Database(f"sqlite:///{tmp_path / 'd' / 'ztd.sqlite3'}")
        db.dispose()
    assert not caplog.records


def test_the_keys_directory_is_private_even_without_a_database(tmp_path: Path) -> None:
    """With PostgreSQL the keys may be the first thing in the data directory."""
    with _umask(0):
        key = KeyStore(tmp_path / "data" / "keys").current()
    assert key.kid
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "keys") == 0o700
    assert [_mode(p) for p in (tmp_path / "data" / "keys").glob("*.pem")] == [0o600]
