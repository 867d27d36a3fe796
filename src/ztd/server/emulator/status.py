"""The status document's seam: a held job reads as processing (see :mod:`.holds`)."""

from __future__ import annotations

from starlette.requests import Request

from ztd.server.emulator import holds
from ztd.server.emulator.control import Emulator


def held_document(request: Request, job_id: str) -> bytes | None:
    """None unless a rule holds the finished job ``job_id``; free while no rule exists."""
    emulator: Emulator | None = getattr(request.app.state, "emulator", None)
    if emulator is None:
        return None
    emulator.cache.refresh_if_stale_sync()
    if not emulator.cache.holds_possible:
        return None
    with emulator.db.write() as conn:
        return holds.held_document(conn, job_id, emulator.clock())
