"""Waking workers the moment a job is enqueued, in any process (PostgreSQL LISTEN/NOTIFY).

An embedded worker shares an Event with the API that enqueues, but a standalone ``ztd worker``
only polled, every ``poll_interval_seconds``: half a second of nothing before a job started.
On PostgreSQL the enqueue transaction now sends a NOTIFY (delivered at commit, never for a
rollback) and every worker listens on its own connection. Polling stays as the fallback, so a
lost connection or a missed notification only costs the old delay.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

log = logging.getLogger("ztd.worker")

CHANNEL = "ztd_jobs"
RECONNECT_SECONDS = 5.0


def announce_job(conn: Connection) -> None:
    """Call inside the enqueue transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {CHANNEL}")


class JobListener:
    """Sets ``wakeup`` whenever a job is committed anywhere, from a daemon thread."""

    def __init__(self, database_url: str, wakeup: threading.Event) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.wakeup = wakeup
        self.listening = threading.Event()  # set once LISTEN is in place (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ztd-job-listener")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        # Returns after a second without news, to look at the stop flag.
                        for _notice in conn.notifies(timeout=1.0):
                            self.wakeup.set()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("job notifications unavailable (%s); polling meanwhile", exc)
                self._stop.wait(RECONNECT_SECONDS)
