"""Say when `ztd serve` answers. Its banner (the URL, the demo token, a curl line) is printed
before the HTTP server binds its port and its processes import the app, which takes a second
or more; a line pasted at once met "connection refused". A thread of the serving process
polls ``/healthz`` and prints one ``ready`` line when it first answers 200. That probe is a
request like any other: the access log and ``ztd_http_requests_total`` count it."""

from __future__ import annotations

import threading
import time

import httpx
from rich.console import Console

POLL_SECONDS = 0.1
GIVE_UP_SECONDS = 300.0  # a start this slow has failed, and says so itself


def announce_when_ready(err: Console, host: str, port: int) -> threading.Thread:
    """Start a daemon thread that prints ``ready: http://HOST:PORT answers (after N s)`` on
    ``err`` once ``GET /healthz`` answers 200; it prints nothing if that never happens within
    GIVE_UP_SECONDS (the server's own error is then what the user reads)."""
    thread = threading.Thread(
        target=_wait_and_say, args=(err, host, port), daemon=True, name="ztd-ready"
    )
    thread.start()
    return thread


def _wait_and_say(err: Console, host: str, port: int) -> None:
    started = time.monotonic()
    shown = f"http://{_literal(host)}:{port}"
    probe = f"http://{_literal(_WILDCARDS.get(host, host))}:{port}/healthz"
    # Refused at once while nothing listens; once connected, the answer is waited for
    # (the processes may still be importing the app): a probe given up on would still be
    # answered, and counted, later.
    timeout = httpx.Timeout(GIVE_UP_SECONDS, connect=1.0)
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        while time.monotonic() - started < GIVE_UP_SECONDS:
            try:
                if client.get(probe).status_code == 200:
                    took = time.monotonic() - started
                    err.print(f"ready: {shown} answers (after {took:.1f} s)", highlight=False)
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(POLL_SECONDS)


# A server listening on every interface is asked on the loopback one.
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def _literal(host: str) -> str:
    """``host`` as a URL writes it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
