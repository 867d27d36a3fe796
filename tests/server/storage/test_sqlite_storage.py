"""SQLite specifics of the storage layer: the background WAL checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.waiting import wait_until
from ztd.server.storage.database import WAL_BACKSTOP_PAGES, Database


def test_commits_leave_the_wal_to_the_background_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "wal.sqlite3"
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
            conn.execute(text("CREATE TABLE blobs (b BLOB)"))
        assert pages == WAL_BACKSTOP_PAGES  # no commit stops to copy the log itself
        with db.write() as conn:  # 8 MB: past SQLite's default 4 MB checkpoint threshold
            conn.exec_driver_sql(
                "INSERT INTO blobs VALUES (?)", [(bytes(1 << 20),) for _ in range(8)]
            )
        # The commit returned with the rows in the log; the checkpointer then copies them into
        # the database file while the connections stay open.
        checkpointer = db._checkpointer
        assert checkpointer is not None
        # Wait for the rows in the file too, not only for a checkpoint: on a busy machine the
        # pause after CREATE TABLE is enough for one that copies only that commit.
        wait_until(
            lambda: checkpointer.completed >= 1 and path.stat().st_size >= 8 << 20,
            message=lambda: f"{path.stat().st_size} bytes, {checkpointer.completed} checkpoints",
        )
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM blobs")).scalar() == 8
    finally:
        db.dispose()


@pytest.mark.timing
def test_the_checkpointer_waits_for_a_pause_in_the_writes(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'burst.sqlite3'}")
    checkpointer = db._checkpointer
    assert checkpointer is not None
    # A pause of a second: a commit every 20 ms never leaves one, even on a busy machine
    # (0.5 s did not leave enough room). The burst lasts longer than the pause, so that a
    # checkpoint timed from the first commit would show.
    checkpointer.QUIET_SECONDS, checkpointer.MAX_DELAY_SECONDS = 1.0, 60.0
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
        last = time.monotonic()
        burst_ends, longest_gap = last + 2.5, 0.0
        while time.monotonic() < burst_ends:  # a commit every 20 ms
            with db.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
            longest_gap, last = max(longest_gap, time.monotonic() - last), time.monotonic()
            time.sleep(0.02)
        # Nothing copied while the commits kept coming.
        assert checkpointer.completed == 0, f"longest gap between commits: {longest_gap:.2f} s"
        wait_until(lambda: checkpointer.completed >= 1, message="no checkpoint after the burst")
        assert checkpointer.completed == 1  # one checkpoint for the whole burst
    finally:
        db.dispose()
