"""Liveness (no database) and readiness (database reachable), both without a token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from ztd.server.api.context import context_of
from ztd.server.api.responses import json_response
from ztd.server.errors import ApiError

router = APIRouter()
log = logging.getLogger("ztd.server")


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> Response:
    try:
        with context_of(request).db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        # The details (host, port, user) go to the log, not to whoever asks without a token.
        log.warning("readiness check failed: %s", exc)
        raise ApiError(503, "503", "The database is not reachable; the log says why.") from exc
    return json_response({"status": "ready"})
