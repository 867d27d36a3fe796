"""What the SDK sent to the real app, counted by kind (an httpx request event hook), and
the webhook channels left on the server: for the tests of ``wait(via_events=True)``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from ztd.server.storage.database import Database
from ztd.server.storage.schema import webhook_subscriptions

REG = "/webhooks/v1/registration"


class Sent:
    """The requests the SDK sent, by kind."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def record(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def record_async(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def status_reads(self) -> int:
        return sum(1 for r in self.requests if "/batchJobStatus/" in r.url.path)

    def long_polls(self) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith("/listen"))

    def kinds(self) -> list[str]:
        """e.g. ["POST registration", "GET status", "GET listen", "DELETE registration"]."""
        out = []
        for r in self.requests:
            path = r.url.path
            what = (
                "status"
                if "/batchJobStatus/" in path
                else "listen"
                if path.endswith("/listen")
                else "registration"
                if path.startswith(REG)
                else path
            )
            out.append(f"{r.method} {what}")
        return out


def channels(db: Database) -> list[str]:
    """The webhook registrations on the server (listen channels included)."""
    with db.read() as conn:
        return list(conn.execute(select(webhook_subscriptions.c.id)).scalars())


def finish_in(seconds: float, work: Callable[[], object]) -> threading.Timer:
    """A job that takes ``seconds``: the worker runs it then, in another thread."""
    timer = threading.Timer(seconds, work)
    timer.start()
    return timer


@contextmanager
def recording(client: TestClient) -> Iterator[Sent]:
    """Every request ``client`` sends while the block runs, recorded in a :class:`Sent`."""
    recorder = Sent()
    client.event_hooks = {"request": [recorder.record], "response": []}
    try:
        yield recorder
    finally:
        client.event_hooks = {"request": [], "response": []}
