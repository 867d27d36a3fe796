"""`ztd listen --forward-to`: which URLs are taken, and what a forward does with a refused
connection (tries again, quickly) and with an answer (any status: it is the outcome).
Real HTTP endpoints on 127.0.0.1; only the waits between tries are recorded, not slept."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.live_server import free_port
from tests.support.receiver import receiver
from ztd.cli.listen_forward import RETRY_DELAYS, check_forward_url, forward, shown

ITEM = {"payload": '{"type": "devicebatch.created"}', "headers": {"webhook-id": "msg_1"}}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3000/hook", "https://example.test/hook?x=1", "http://[::1]:8080/"],
)
def test_http_and_https_urls_with_a_host_are_taken(url: str) -> None:
    assert check_forward_url(url) is None


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("localhost:3000/hook", "is not an http:// or https:// URL"),
        ("/hook", "is not an http:// or https:// URL"),
        ("https://", "has no host"),
        ("http://[::1/hook", "is not a valid URL"),
        ("http://127.0.0.1:99999/hook", "is not a valid URL"),
    ],
)
def test_other_urls_are_refused_saying_why(url: str, said: str) -> None:
    problem = check_forward_url(url)
    assert problem is not None and said in problem, problem


def test_an_answer_of_any_status_is_the_outcome_without_another_try() -> None:
    waits: list[float] = []
    with receiver() as hook, httpx.Client() as local:
        hook.script = [503]
        outcome = forward(local, hook.url, ITEM, sleep=waits.append)
        assert len(hook.received) == 1
        assert hook.received[0].headers["webhook-id"] == "msg_1"
    assert outcome == {"status": 503, "attempts": 1}
    assert waits == []
    assert shown(outcome) == "-> 503"


def test_a_refused_connection_is_tried_again_until_the_app_is_up() -> None:
    port = free_port()
    waits: list[float] = []
    arrived: list[bytes] = []

    def app_starts_during_the_second_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            stack.append(_answering(port, arrived))

    stack: list[ThreadingHTTPServer] = []
    with httpx.Client() as local:
        outcome = forward(
            local, f"http://127.0.0.1:{port}/hook", ITEM, sleep=app_starts_during_the_second_wait
        )
    for server in stack:
        server.shutdown()
        server.server_close()
    assert outcome == {"status": 204, "attempts": 3}
    assert waits == list(RETRY_DELAYS[:2])
    assert arrived == [ITEM["payload"].encode()]
    assert shown(outcome) == "-> 204 (3 tries)"


def test_a_connection_refused_every_time_is_an_error_after_the_last_try() -> None:
    waits: list[float] = []
    with httpx.Client() as local:
        outcome = forward(local, f"http://127.0.0.1:{free_port()}/hook", ITEM, sleep=waits.append)
    assert waits == list(RETRY_DELAYS)
    assert outcome["attempts"] == 1 + len(RETRY_DELAYS) and outcome["error"]
    assert shown(outcome).startswith(f"forward failed after {outcome['attempts']} tries: ")


def _answering(port: int, arrived: list[bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived.append(self.rfile.read(int(self.headers.get("content-length", "0"))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
