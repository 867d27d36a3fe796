"""The webhook tests' shared setup: a real endpoint on 127.0.0.1 and the app it subscribes
through (tests/support/webhooks.py); `hook` and `loopback` come from tests/conftest.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.receiver import Receiver
from tests.support.webhooks import Webhooks
from tests.support.world import World
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


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
