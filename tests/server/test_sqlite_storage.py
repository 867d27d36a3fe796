"""SQLite specifics of the storage layer: the background WAL checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

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
        deadline = time.monotonic() + 10
        while path.stat().st_size < 8 << 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_size >= 8 << 20
        assert db._checkpointer is not None and db._checkpointer.completed >= 1
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM blobs")).scalar() == 8
    finally:
        db.dispose()
