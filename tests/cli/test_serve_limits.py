"""`ztd serve`, with either HTTP server, bounds what one request may cost: oversized request
lines and headers are refused at once without the process growing, and clients that
trickle a head or a body are disconnected after the configured timeouts while others are
served. Real server processes, raw sockets."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.support.live_server import free_port
from tests.support.waiting import STARTUP_SECONDS, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timing]

TIMEOUT = 1.0  # header, body and keep-alive timeouts of the servers under test
MiB = 1024 * 1024


@dataclass
class Server:
    name: str
    port: int
    process: psutil.Process
    log: Path

    def rss(self) -> int:
        """The server's memory, worker processes included (granian serves from a child)."""
        processes = [self.process, *self.process.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return sock

    def get(self, path: str = "/healthz") -> int:
        with self.connect() as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            return status_of(read_response(sock))


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env["ZTD_DATA_DIR"] = str(tmp_path_factory.mktemp("serve") / ".ztd")
    for name in ("HEADER_TIMEOUT", "BODY_TIMEOUT", "KEEP_ALIVE"):
        env[f"ZTD_{name}_SECONDS"] = str(TIMEOUT)
    log = Path(env["ZTD_DATA_DIR"]).parent / "server.log"
    command = [sys.executable, "-m", "ztd", "serve", "--no-worker", "--port", str(port)]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [*command, "--server", request.param],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        served = Server(request.param, port, psutil.Process(popen.pid), log)

        def answering() -> bool:
            assert popen.poll() is None, log.read_text()
            try:
                return served.get() == 200
            except OSError:
                return False

        wait_until(answering, timeout=STARTUP_SECONDS, interval=0.1, message=log.read_text)
        yield served
    finally:
        popen.terminate()
        popen.wait(15)


def read_response(sock: socket.socket, within: float = 5.0) -> bytes:
    """One response's bytes, up to the end of its body (by Content-Length)."""
    deadline = time.monotonic() + within
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            if len(body) >= length:
                return data
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {data[:200]!r}"
        data += chunk


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes the connection (EOF or reset) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except ConnectionError:
            return True
    return False


def flood(sock: socket.socket, head: bytes, filler: bytes, total: int) -> threading.Thread:
    """Send ``head`` then ``filler`` until ``total`` bytes, in a thread, stopping when the
    server hangs up (it should, long before the end)."""

    def send() -> None:
        try:
            sock.sendall(head)
            for _ in range(total // len(filler)):
                sock.sendall(filler)
        except OSError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


OVERSIZED = {
    # 12.5 million header fields, 100 MB
    "100 MB of headers": (
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n",
        b"X-A: 1\r\n" * 131072,
        100_000_000,
    ),
    "100 MB URL": (b"GET /", b"a" * MiB, 100_000_000),
    "32 MB Authorization": (
        b"GET /v1/customers HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ",
        b"a" * MiB,
        32_000_000,
    ),
}


def expected_status(server: Server, case: str) -> int:
    # hyper (granian) reads a request line into the same bounded buffer as the headers, and
    # answers 431 when a URL overflows it before it ends.
    if case == "100 MB URL" and server.name == "uvicorn":
        return 414
    return 431


def test_oversized_heads_are_refused_at_once_without_growing_the_process(server: Server) -> None:
    before = server.rss()
    socks = {case: server.connect() for case in OVERSIZED}
    started = time.monotonic()
    senders = [flood(socks[case], *OVERSIZED[case]) for case in OVERSIZED]  # all at once
    for case, sock in socks.items():
        response = read_response(sock, within=1.0)
        assert status_of(response) == expected_status(server, case), (case, response[:300])
        assert time.monotonic() - started < 1.0, case
        assert closed_within(sock, 1.0), case
    for sender in senders:
        sender.join(5)
        assert not sender.is_alive()
    growth = server.rss() - before
    assert growth < 50 * MiB, f"RSS grew by {growth / MiB:.0f} MiB"
    for sock in socks.values():
        sock.close()
    assert server.get() == 200


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X-A: 1\r\n" * 98 + b"\r\n", 200),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X-A: 1\r\n" * 100 + b"\r\n", 431),
        (b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 404),
        (b"GET /healthz?" + b"a" * 8200 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 60_000 + b"\r\n\r\n", 200),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 80_000 + b"\r\n\r\n", 431),
        # A large body sent with its head is no large head.
        (
            b"POST /v1/customers/x/deviceBatches HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n" + b" " * 2_000_000,
            401,
        ),
    ],
    ids=[
        "99 headers",
        "101 headers",
        "8000-byte URL",
        "8200-byte query",
        "60 KB header",
        "80 KB header",
        "2 MB body",
    ],
)
def test_limits_refuse_only_what_exceeds_them(
    server: Server, request_bytes: bytes, status: int
) -> None:
    with server.connect() as sock:
        sock.sendall(request_bytes)
        response = read_response(sock)
    assert status_of(response) == status, response[:300]
    if status in (414, 431) and b'"code"' in response:  # ztd's own refusals say why
        assert b"ZTD_MAX_" in response


def test_pipelined_requests_are_all_answered(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 3)
        data = b""
        while data.count(b'{"status":"ok"}') < 3:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3


def test_idle_keep_alive_connections_are_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status_of(read_response(sock)) == 200
        assert closed_within(sock, TIMEOUT + 2)


def test_a_connection_that_never_sends_is_closed(server: Server) -> None:
    if server.name == "granian":
        pytest.skip("hyper starts its header timer at the first byte; see README")
    with server.connect() as sock:
        assert closed_within(sock, TIMEOUT + 2)


TRICKLED_HEAD = b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
TRICKLED_BODY = (
    b"POST /oauth2/token HTTP/1.1\r\nHost: t\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
)


def trickle(index: int) -> bytes:
    """What the index-th slow client sends each tick: half of the heads grow one endless
    header name, the other half whole header fields; the bodies grow a byte at a time."""
    if index < 25:
        return b"X"
    return b"X-Slow: 1\r\n" if index < 50 else b"a"


def test_slowloris_connections_are_closed_while_others_are_served(server: Server) -> None:
    """50 clients trickle a head and 50 a body, every 0.1 s: all are closed after the
    header or body timeout, and a well-behaved client is answered meanwhile."""
    socks = [server.connect() for _ in range(100)]
    for i, sock in enumerate(socks):
        sock.sendall(TRICKLED_HEAD if i < 50 else TRICKLED_BODY)
    started = time.monotonic()
    open_socks = set(socks)
    closed_at: dict[socket.socket, float] = {}
    slowest_answer = 0.0
    deadline = started + TIMEOUT + 4
    while open_socks and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_socks), [], [], 0.1)
        for sock in list(open_socks):
            try:
                if sock in readable and not sock.recv(65536, socket.MSG_DONTWAIT):
                    raise ConnectionResetError
                sock.send(trickle(socks.index(sock)))
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                open_socks.discard(sock)
                closed_at[sock] = time.monotonic() - started
        asked = time.monotonic()
        assert server.get() == 200
        slowest_answer = max(slowest_answer, time.monotonic() - asked)
    for sock in socks:
        sock.close()
    assert not open_socks, f"{len(open_socks)} of 100 trickling connections still open"
    assert max(closed_at.values()) < TIMEOUT + 3
    assert slowest_answer < 1.0
    # A body cut off by the timeout is the client's failure, not a logged service error.
    assert "Traceback" not in server.log.read_text()
