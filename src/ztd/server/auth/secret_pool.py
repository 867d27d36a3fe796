"""The threads that check client secrets: a pool of their own, with a bounded queue.

A secret check runs scrypt (~60 ms of CPU and 16 MiB). Run in the thread pool the database
routes share, a flood of token requests filled it and a partner's list call waited seconds
behind them (issue 20). Here the checks have their own few threads, and at most ``queue``
more wait for one; beyond that a request is refused at once (429) instead of queueing
without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from ztd.server.errors import Throttled

P = ParamSpec("P")
T = TypeVar("T")

RETRY_AFTER_SECONDS = 1  # the queue drains in well under a second


# Linux gives each thread its own nice value: the checks run at a lower priority, so that
# when the CPU is short the API's requests win it and token requests wait.
CHECK_NICENESS = 10


def _lower_priority() -> None:
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)


def default_workers() -> int:
    # Half the cores: under a flood of token requests the other half still serve the API.
    return max(1, (os.cpu_count() or 2) // 2)


class SecretPool:
    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers or default_workers()
        self.capacity = self.workers + queue  # checks running or waiting
        self._executor: ThreadPoolExecutor | None = None  # made on first use, after close()
        self._taken = 0
        self._lock = threading.Lock()

    async def run(self, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``check(*args, **kwargs)`` on one of the pool's threads; 429 (Throttled) when every
        thread is busy and the queue is full."""
        with self._lock:
            if self._taken >= self.capacity:
                raise Throttled(
                    "Too many token requests are being checked; "
                    f"retry after {RETRY_AFTER_SECONDS} second.",
                    RETRY_AFTER_SECONDS,
                )
            self._taken += 1
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.workers, thread_name_prefix="ztd-secrets", initializer=_lower_priority
                )
            future = self._executor.submit(check, *args, **kwargs)
        except BaseException:
            self._release(None)
            raise
        # Freed when the check ends, not when the caller stops waiting (a client that hangs
        # up does not stop the hash it started).
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    @property
    def taken(self) -> int:
        return self._taken

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _release(self, _future: object) -> None:
        with self._lock:
            self._taken -= 1
