"""The ceiling for bench/status.py: a bare ASGI app answering every request with the same
bytes the ztd server sends for a status document (read from ZTD_BENCH_BODY_FILE)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["ZTD_BENCH_BODY_FILE"]).read_bytes()
HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
