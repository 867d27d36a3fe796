"""Webhook tests' common setup, through the real API: a subscription (to a real endpoint on
127.0.0.1, or a listen channel), a job that finishes so that its event is queued, and the
deliverer that sends it. The ``webhooks`` fixture (tests/server/webhooks/conftest.py) hands
out a :class:`Webhooks` with a fresh receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device
from tests.support.receiver import Receiver, receiver
from tests.support.world import World
from ztd.server.clock import Clock, utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks import egress
from ztd.server.webhooks.delivery import Deliverer

REG = "/webhooks/v1/registration"
JOB_COMPLETED = "devicebatch.job.completed"


def subscribe(client: TestClient, world: World, url: str | None, *names: str) -> dict[str, Any]:
    """Subscribe ``world``'s partner to the events ``names`` (default: a batch job completed)
    at ``url``, or on a listen channel when ``url`` is None. Asserts the 201 and a signing
    secret; returns the registration as created (with its ``id`` and ``secret``)."""
    target: dict[str, Any] = {"webhookUrl": url} if url is not None else {"listen": True}
    response = client.post(
        REG, json={**target, "webhookEvents": list(names) or [JOB_COMPLETED]}, headers=world.auth()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    return created


def as_other_partner(world: World) -> World:
    """``world`` as its other partner sees it (its token; the customer stays the first
    partner's, so only partner-wide calls such as webhooks make sense)."""
    return World(**{**world.__dict__, "partner": world.other_partner, "token": world.other_token})


def send_test_event(client: TestClient, world: World) -> list[str]:
    """A ``webhook.test`` to each of the partner's active registrations; the event ids."""
    response = client.post(f"{REG}/validationEvents", headers=world.auth())
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["eventIds"]
    return ids


def worker_process(settings: Settings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """A real `ztd worker` on the test's database, allowed to deliver to 127.0.0.1, polling
    every 0.05 s, its output appended to ``log``; ``env`` adds or overrides ZTD_ settings
    (by their variable names)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ztd", "worker"],
        env={
            **os.environ,
            "ZTD_DATA_DIR": str(settings.data_dir),
            "ZTD_DATABASE_URL": settings.resolved_database_url,
            "ZTD_POLL_INTERVAL_SECONDS": "0.05",
            "ZTD_WEBHOOK_ALLOW_PRIVATE": "loopback",
            **env,
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def finish_a_job(client: TestClient, world: World, worker: Worker, name: str, seed: int = 7) -> str:
    """Upload one device (``hash_device(seed)``) as batch ``name`` and run ``worker`` until
    idle: the job finishes and its events wait for delivery. Returns the tracking id."""
    tracking = create_batch(client, world.customer, world.auth(), name, [hash_device(seed)])
    worker.run_until_idle()
    return tracking


@dataclass
class Webhooks:
    """One partner's webhooks in a test: the app (``client``, without an embedded worker),
    its database and settings, the seeded ``world``, a ``worker`` to finish jobs, and
    ``hook``, a real endpoint on 127.0.0.1 that records what it receives."""

    client: TestClient
    db: Database
    settings: Settings
    world: World
    worker: Worker
    hook: Receiver

    def subscribe(self, *names: str, url: str | None = None) -> dict[str, Any]:
        """A subscription to ``names`` (default: a batch job completed) at ``url``, by
        default the receiver's; see :func:`subscribe`."""
        return subscribe(self.client, self.world, url or self.hook.url, *names)

    def finish_a_job(self, name: str, seed: int = 7, worker: Worker | None = None) -> str:
        """See :func:`finish_a_job`; ``worker`` replaces the fixture's (one with a fake
        clock, say)."""
        return finish_a_job(self.client, self.world, worker or self.worker, name, seed)

    def deliverer(
        self, clock: Clock = utc_now, resolver: egress.Resolver = egress.system_resolver
    ) -> Deliverer:
        """A deliverer on the test's database and settings, made now: settings changed
        before this call count (the private-address policy is read here)."""
        return Deliverer(self.db, self.settings, clock=clock, resolver=resolver)

    def shown(self, registration: dict[str, Any]) -> dict[str, Any]:
        """The registration as the API shows it now (status, disabled reason; no secret)."""
        response = self.client.get(f"{REG}/{registration['id']}", headers=self.world.auth())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def attempts(self, registration: dict[str, Any]) -> list[dict[str, Any]]:
        """The registration's delivery log, newest attempt first."""
        response = self.client.get(
            f"{REG}/{registration['id']}/attempts", headers=self.world.auth()
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


class FakeClock:
    """A clock tests move by hand: ``clock()`` is the time, ``advance(seconds=5)`` moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Log:
    """A registration with a delivery log: ``registration`` as created, ``sent`` the test
    events' ids, oldest first."""

    registration: dict[str, Any]
    sent: list[str]


@contextmanager
def three_test_events(
    client: TestClient, db: Database, settings: Settings, world: World
) -> Iterator[Log]:
    """Three test events to one registration at a real local receiver, each attempted once:
    the receiver failed the first for good (500, no retry), then took the other two. The
    receiver runs until the block ends."""
    settings.webhook_allow_private = "loopback"
    settings.webhook_retry_seconds = [0]
    with receiver() as hook:
        registration = subscribe(client, world, hook.url, "devicebatch.created")
        sent = [
            client.post(
                f"{REG}/validationEvents",
                json={"registrationId": registration["id"]},
                headers=world.auth(),
            ).json()["eventIds"][0]
            for _ in range(3)
        ]
        hook.script = [500]
        assert Deliverer(db, settings).deliver_due() == 3
        yield Log(registration, sent)
