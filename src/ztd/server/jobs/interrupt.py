"""Stopping a chunk in progress: cancel the statement its transaction is running.

On SIGTERM a worker gives the chunk it holds a grace period to finish; past it, the statement
the finishing transaction runs is cancelled (PostgreSQL: a cancel request for that backend;
SQLite: ``sqlite3_interrupt``), the transaction rolls back, and the worker releases the chunk
(``leases.release``) so that another worker takes it at once. Nothing the kind wrote survives
the rollback, so nothing is done twice, and the fenced finish means nothing is lost either.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from types import TracebackType
from typing import Any

from sqlalchemy import Connection

log = logging.getLogger("ztd.worker")

RETRY_SECONDS = 0.1  # a cancel that found no statement running is sent again this often
CANCEL_TIMEOUT_SECONDS = 5.0


class ChunkInterrupter:
    """Watches ``stopping`` while a chunk is processed; ``grace`` seconds after it is set,
    cancels whatever statement the attached connection runs until the chunk ends.

    Use as a context manager around the chunk's processing, and :meth:`attach` the finishing
    transaction's connection inside it. :attr:`fired` then says whether a failure of that
    transaction was this interruption."""

    def __init__(self, stopping: threading.Event, grace: float) -> None:
        self.stopping = stopping
        self.grace = grace
        self.fired = False
        self._done = threading.Event()
        self._lock = threading.Lock()  # cancels never reach a connection after detach
        self._raw: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="ztd-interrupter")

    def __enter__(self) -> ChunkInterrupter:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.detach()
        self._done.set()
        self._thread.join()

    def attach(self, conn: Connection) -> None:
        """Cancels from now on go to ``conn``'s statements (a connection of this process)."""
        with self._lock:
            self._raw = conn.connection.dbapi_connection

    def detach(self) -> None:
        with self._lock:
            self._raw = None

    def _run(self) -> None:
        # Wait for the stop, then for the grace period, unless the chunk ends first.
        while not self._done.is_set():
            if self.stopping.wait(RETRY_SECONDS):
                break
        if self._done.wait(self.grace):
            return
        log.info("stopping: rolling back the chunk in progress to release it")
        while not self._done.is_set():
            with self._lock:
                if self._raw is not None:
                    self.fired = True
                    _cancel(self._raw)
            self._done.wait(RETRY_SECONDS)


def _cancel(raw: Any) -> None:
    """Cancel the statement ``raw`` (a DBAPI connection) runs; a no-op when it runs none."""
    try:
        if isinstance(raw, sqlite3.Connection):
            raw.interrupt()
        elif hasattr(raw, "cancel_safe"):  # psycopg >= 3.2
            raw.cancel_safe(timeout=CANCEL_TIMEOUT_SECONDS)
        else:
            raw.cancel()
    except Exception as exc:  # the chunk then simply finishes; the stop waits for it
        log.warning("could not cancel the chunk's statement: %s", exc)
