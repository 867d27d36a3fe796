"""The status document's seam: a held job reads as processing (see :mod:`.holds`); the read
that ends a ``polls`` hold lets the job's completion event go (``webhooks.held_events``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from starlette.requests import Request

from ztd.server.api.context import context_of
from ztd.server.emulator import holds
from ztd.server.emulator.control import Emulator
from ztd.server.webhooks import held_events


def held_document(request: Request, job_id: str) -> bytes | None:
    """None unless a rule holds the finished job ``job_id``; free while no rule exists."""
    emulator: Emulator | None = getattr(request.app.state, "emulator", None)
    if emulator is None:
        return None
    emulator.cache.refresh_if_stale_sync()
    if not emulator.cache.holds_possible:
        return None
    released = 0

    def release(conn: Connection, job_id: str, now: datetime) -> None:
        nonlocal released
        released = held_events.release(conn, job_id, now)

    with emulator.db.write() as conn:
        document = holds.held_document(conn, job_id, emulator.clock(), on_release=release)
    if released:  # committed: the dispatcher of this process's worker sends them now
        context_of(request).webhook_wakeup.set()
    return document
