"""A real HTTP endpoint on 127.0.0.1 in a thread, receiving webhooks as a partner's would:
it records every request (headers, body, arrival time) and answers from a script, at once
or dripping its answer a byte a second (a slow endpoint), and counts the requests in flight
per path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DRIP_BYTES = 64
DRIP_SECONDS = 1.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str
    at: float  # time.time() on arrival


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; once used up, 200.
    script: list[int] = field(default_factory=list)
    # Called before answering (a test blocks here to keep a request in flight).
    before_answer: Callable[[Received], None] | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    # Whether to drip the answer to this request (200, then DRIP_BYTES a byte a second).
    drips: Callable[[Received], bool] = lambda _got: False
    # Requests being answered now, and the most there ever were at once, by path.
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)
    closing: threading.Event = field(default_factory=threading.Event)  # stops the drips
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        """The requests received at ``path`` (the URL's path, as registered)."""
        return [got for got in self.received if got.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} webhooks arrived")
            time.sleep(0.01)
        return self.received


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            got = Received(
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
                self.path,
                time.time(),
            )
            with state.lock:
                state.received.append(got)
                now = state.in_flight[got.path] = state.in_flight.get(got.path, 0) + 1
                state.most_in_flight[got.path] = max(now, state.most_in_flight.get(got.path, 0))
            state.arrived.set()
            try:
                self._answer(got)
            except OSError:  # the sender went away meanwhile
                pass
            finally:
                with state.lock:
                    state.in_flight[got.path] -= 1

        def _answer(self, got: Received) -> None:
            if state.before_answer is not None:
                state.before_answer(got)
            if state.drips(got):
                self.send_response(200)
                self.send_header("Content-Length", str(DRIP_BYTES))
                self.end_headers()
                self.wfile.flush()
                for _ in range(DRIP_BYTES):  # until the sender gives up (or the test ends)
                    if state.closing.wait(DRIP_SECONDS):
                        return
                    self.wfile.write(b" ")
                    self.wfile.flush()
                return
            status = state.script.pop(0) if state.script else 200
            body = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.closing.set()
        server.shutdown()
        server.server_close()
