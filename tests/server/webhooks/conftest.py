"""The webhook tests' shared setup: a real endpoint on 127.0.0.1 and the app it subscribes
through (tests/support/webhooks.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.receiver import Receiver, receiver
from tests.support.webhooks import Webhooks
from tests.support.world import World
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as found:
        yield found


@pytest.fixture
def loopback(settings: Settings) -> Settings:
    settings.webhook_allow_private = "loopback"  # the receiver is on 127.0.0.1
    return settings


@pytest.fixture
def webhooks(
    client: TestClient,
    db: Database,
    loopback: Settings,
    world: World,
    worker: Worker,
    hook: Receiver,
) -> Webhooks:
    return Webhooks(client, db, loopback, world, worker, hook)
