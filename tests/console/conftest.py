"""The console's browser tests run against a real server with the embedded worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import require_browser
from tests.support.live_server import live_server
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


@pytest.fixture
def server(db: Database, settings: Settings, world: World) -> Iterator[str]:
    require_browser()
    app = create_app(settings, db=db, embedded_worker=True)
    with live_server(app) as url:
        yield url
