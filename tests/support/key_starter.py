"""What a starting server does with its key store, run in a child process by the key store
tests. Kept apart from the test modules so that a spawned child imports only this."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from ztd.server.auth.keys import KeyStore


def start_on(directory: Path, barrier: Barrier, kids: Queue[str]) -> None:
    barrier.wait()  # every process looks at the empty directory at the same moment
    kids.put(KeyStore(directory).current().kid)
