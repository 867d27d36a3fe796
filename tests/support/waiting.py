"""Waiting for something another thread or process does, without fixed sleeps: poll a
condition until it holds or a deadline passes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

# How long a process (or an in-thread server) may take to start: imports, migrations, its
# first answer. Generous on purpose: CI machines are slow and busy (a `ztd serve` took over
# a minute there, two side by side 73 s on a loaded 2-core machine), and only a start that
# fails waits this long. Not a product bound: tests that measure latency measure it after.
STARTUP_SECONDS = 180.0


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | Callable[[], str] = "",
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns a truthy value, and
    return that value. ``timeout`` (seconds) bounds the wait: past it, AssertionError
    saying what was awaited (``message``, or a callable giving the state at that moment).
    The predicate is called at least once, and once more at the deadline."""
    if timeout <= 0 or interval <= 0:
        raise ValueError(f"timeout and interval must be positive, not {timeout}, {interval}")
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            said = message() if callable(message) else message
            raise AssertionError(f"not within {timeout} s: {said or repr(predicate)}")
        time.sleep(min(interval, remaining))


def wait_for_http(
    url: str,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
    timeout: float = STARTUP_SECONDS,
) -> httpx.Response:
    """Wait until ``url`` answers a GET with 200 (a server process starting), and return
    that answer. Fails at once when ``process`` exits meanwhile, showing ``log``."""

    def said() -> str:
        return log.read_text() if log is not None and log.exists() else ""

    def answered() -> httpx.Response | None:
        assert process is None or process.poll() is None, f"the server exited\n{said()}"
        try:
            response = httpx.get(url, timeout=1)
        except httpx.TransportError:
            return None
        return response if response.status_code == 200 else None

    return wait_until(answered, timeout=timeout, interval=0.1, message=said)
