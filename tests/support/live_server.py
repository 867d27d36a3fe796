"""A real uvicorn server on a free port in a background thread, for tests that need HTTP
over a socket (concurrency, a second OIDC issuer, SDK against a running server)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.support.waiting import STARTUP_SECONDS, wait_until
from ztd.server.http_limits import UVICORN_PROTOCOL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        http=UVICORN_PROTOCOL,  # as `ztd serve` runs it: request limits and timeouts
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(
        lambda: server.started or not thread.is_alive(),
        timeout=STARTUP_SECONDS,  # the app's lifespan (migrations) on a busy machine
        interval=0.01,
        message="no server",
    )
    if not server.started:
        raise RuntimeError("test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
