"""Client-secret hashing is bounded (found in review): every token request runs scrypt,
16 MiB each, so a flood of requests must not run dozens at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ztd.server.services import applications


def test_no_more_than_a_few_hashes_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    running = peak = 0
    lock = threading.Lock()
    scrypt = applications.hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)  # long enough for the others to pile up
        try:
            return scrypt(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(applications.hashlib, "scrypt", counted)
    threads = [
        threading.Thread(target=applications._hash, args=(f"secret-{n}",)) for n in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == applications.MAX_CONCURRENT_HASHES
