"""Liveness (no database) and readiness (database reachable; with emulator throttling on,
its storage too), both without a token."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import text
from starlette.responses import Response

from ztd.server.api.context import context_of
from ztd.server.api.responses import json_response
from ztd.server.errors import Unavailable
from ztd.server.storage.database import Database

if TYPE_CHECKING:
    from ztd.server.emulator.control import Emulator

router = APIRouter()
log = logging.getLogger("ztd.server")


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


def watch_for_drain(app: FastAPI) -> threading.Event:
    """The event set once the process starts draining (SIGTERM or SIGINT: the server stops
    taking connections and finishes the ones it has), so /readyz says not ready while
    in-flight requests finish. The server's own signal handling runs on unchanged."""
    draining = threading.Event()
    app.state.draining = draining
    if threading.current_thread() is not threading.main_thread():
        return draining  # an embedded server (ztd.testing): no signals to watch
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def chained(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            draining.set()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:  # what would have happened: die of the signal
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        signal.signal(sig, chained)
    return draining


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    draining: threading.Event | None = getattr(request.app.state, "draining", None)
    if draining is not None and draining.is_set():
        raise Unavailable("The process is shutting down; send requests elsewhere.")
    try:
        await anyio.to_thread.run_sync(_select_1, context_of(request).db)
    except Exception as exc:
        # The details (host, port, user) go to the log, not to whoever asks without a token.
        log.warning("readiness check failed: %s", exc)
        raise Unavailable("The database is not reachable; the log says why.") from exc
    # With throttling on, every API request asks its storage first: one that fails (Redis
    # not running) fails them all with 503, so the process is not ready either.
    emulator: Emulator | None = getattr(request.app.state, "emulator", None)
    problem = None if emulator is None else await emulator.throttle_problem()
    if problem is not None:
        assert emulator is not None
        log.warning(
            "readiness check failed: throttling storage ZTD_THROTTLE_STORAGE=%s: %s",
            emulator.throttler.shown,
            problem,
        )
        raise Unavailable(
            "Throttling is on and its storage (ZTD_THROTTLE_STORAGE) is not answering; "
            "the log says why."
        )
    return json_response({"status": "ready"})


def _select_1(db: Database) -> None:
    with db.read() as conn:
        conn.execute(text("SELECT 1"))
