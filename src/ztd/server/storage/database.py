"""Engines and transactions for SQLite (embedded default) and PostgreSQL (at scale).

SQLite allows one writer: write transactions start with ``BEGIN IMMEDIATE`` so that a
transaction never has to upgrade a read lock (which would fail with "database is locked"),
while readers use a second engine with ordinary deferred transactions and WAL keeps them
from blocking the writer. PostgreSQL uses one engine for both.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ztd.server.storage.private_files import private_directory, private_file, tighten

log = logging.getLogger("ztd.storage")

SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_BACKSTOP_PAGES = 16_384  # 64 MB of 4 KB pages (SQLite's own default is 1,000)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                # Private before SQLite opens it: it makes -wal and -shm with the file's mode.
                private_directory(Path(database).parent)
                private_file(Path(database))
                for companion in ("-wal", "-shm"):
                    tighten(Path(database + companion))
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
            self._checkpointer: WalCheckpointer | None = (
                WalCheckpointer(database) if database and database != ":memory:" else None
            )
            # Writers in this process queue here: SQLite's own busy handler sleeps in steps
            # of up to 100 ms, which would delay the embedded worker behind every upload.
            self._write_lock: threading.Lock | contextlib.nullcontext[None] = threading.Lock()
        else:
            self.write_engine = create_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True
            )  # hide_parameters: errors would log the rows' hashes and secrets
            self.read_engine = self.write_engine
            self._write_lock = contextlib.nullcontext()
            self._checkpointer = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction, committed on success and rolled back on error."""
        with self._write_lock, self.write_engine.begin() as conn:
            yield conn
        if self._checkpointer is not None:
            self._checkpointer.request()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        hide_parameters=True,  # errors would log the rows' hashes and secrets
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Committing writers leave the WAL to the background checkpointer; this is only the
        # backstop should it fall far behind.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cursor.close()

    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin_sql)

    return engine


class WalCheckpointer:
    """Copies the write-ahead log into the database file in a background thread.

    SQLite's default runs that copy (with its fsyncs) inside whichever commit pushes the log
    past 4 MB: a 10,000-device upload paid about 60 ms in its commit for it. Here commits only
    ask for a checkpoint, and this thread runs a PASSIVE one on its own connection, with the
    GIL released while SQLite works. It waits for writes to pause first: a checkpoint copying
    20 MB while the worker registers a chunk slowed both (the flush holds up the writer's own
    appends to the log), so a burst of commits is checkpointed once it is over, or after
    MAX_DELAY_SECONDS of continuous writing.
    """

    QUIET_SECONDS = 0.2
    MAX_DELAY_SECONDS = 2.0

    def __init__(self, path: str) -> None:
        self.path = path
        self.completed = 0  # checkpoints run so far (tests wait on it)
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def request(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stopping:
                    self._thread = threading.Thread(
                        target=self._run, daemon=True, name="ztd-wal-checkpoint"
                    )
                    self._thread.start()
        self._wanted.set()

    def close(self) -> None:
        self._stopping = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            while True:
                self._wanted.wait()
                if not self._wait_for_quiet():
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed; the next commit asks again")
                self.completed += 1
        finally:
            conn.close()

    def _wait_for_quiet(self) -> bool:
        """Return once no commit asked for QUIET_SECONDS (or MAX_DELAY_SECONDS passed); False
        when closing."""
        deadline = time.monotonic() + self.MAX_DELAY_SECONDS
        while True:
            self._wanted.clear()
            if self._stopping:
                return False
            left = deadline - time.monotonic()
            if left <= 0 or not self._wanted.wait(min(self.QUIET_SECONDS, left)):
                return not self._stopping
