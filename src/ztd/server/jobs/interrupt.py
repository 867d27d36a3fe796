"""Stopping a chunk in progress: cancel the statement its transaction is running.

On SIGTERM a worker gives the chunk it holds a grace period to finish; past it, the statement
the finishing transaction runs is cancelled (PostgreSQL: a cancel request for that backend;
SQLite: ``sqlite3_interrupt``), the transaction rolls back, and the worker releases the chunk
(``leases.release``) so that another worker takes it at once. Nothing the kind wrote survives
the rollback, so nothing is done twice, and the fenced finish means nothing is lost either.

A cancel only stops a statement that is running. One that lands while the worker runs Python
between statements does nothing, and the chunk could then reach its commit after the log said
it was being rolled back. So once the interrupter has fired, :meth:`ChunkInterrupter.detach`
says so and the worker raises :class:`ChunkInterrupted` instead of committing: a fired
interruption always ends in a rollback and a release, whatever the timing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import Connection

log = logging.getLogger("ztd.worker")

RETRY_SECONDS = 0.1  # a cancel that found no statement running is sent again this often
CANCEL_TIMEOUT_SECONDS = 5.0


class ChunkInterrupted(Exception):
    """The stop's grace ran out while the chunk was being finished: roll it back."""


class ChunkInterrupter:
    """One per running worker: a thread that waits until ``stopping`` is set, waits
    ``grace`` seconds more, then cancels whatever statement the attached connection runs,
    again every RETRY_SECONDS, until :meth:`close`.

    The worker :meth:`attach`\\ es its finishing transaction's connection and detaches it
    before the commit; :attr:`fired` then says whether a failure of that transaction may be
    this interruption (and the chunk is to be released)."""

    def __init__(self, stopping: threading.Event, grace: float) -> None:
        self.stopping = stopping
        self.grace = grace
        self.fired = False
        self._closed = threading.Event()
        self._lock = threading.Lock()  # no cancel reaches a connection after detach
        self._raw: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="ztd-interrupter")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """The worker is done: stop the thread (idempotent)."""
        self.detach()
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join()

    def attach(self, conn: Connection) -> None:
        """Cancels from now on go to ``conn``'s statements (a connection of this process)."""
        with self._lock:
            self._raw = conn.connection.dbapi_connection

    def detach(self) -> bool:
        """No cancel reaches the attached connection any more; True when one was sent (the
        transaction must then roll back, not commit)."""
        with self._lock:
            self._raw = None
            return self.fired

    def _run(self) -> None:
        while not self.stopping.wait(RETRY_SECONDS):  # (the caller's event: not set here)
            if self._closed.is_set():
                return
        if self._closed.wait(self.grace):  # the chunk finished within the grace period
            return
        while not self._closed.is_set():
            with self._lock:
                if self._raw is not None:
                    if not self.fired:
                        log.info("stopping: rolling back the chunk in progress to release it")
                    self.fired = True
                    _cancel(self._raw)
            self._closed.wait(RETRY_SECONDS)


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
