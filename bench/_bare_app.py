"""The ceiling for bench/status.py: a bare ASGI app answering every request with the same
bytes the ztd server sends for a status document (read from ZTD_BENCH_BODY_FILE), with the
same response headers (names and values of one ztd answer, from ZTD_BENCH_HEADERS_FILE)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["ZTD_BENCH_BODY_FILE"]).read_bytes()
HEADERS = [
    *(
        (name.encode(), value.encode())
        for name, value in json.loads(Path(os.environ["ZTD_BENCH_HEADERS_FILE"]).read_text())
    ),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
