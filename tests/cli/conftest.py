"""CLI tests: the partner commands through typer's CliRunner, configured by ZTD_* variables,
against a real server on a port (uvicorn in a thread, embedded worker: ``cli``) or the real
app in-process with fake time (``cli_in_process``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.cli import Cli, InProcessCli, make_app
from tests.support.fake_time import FakeTime
from tests.support.live_server import live_server
from tests.support.world import World
from ztd.cli import _common
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the CLI does not care; the server tests run both backends


@pytest.fixture
def cli(
    settings: Settings, db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    for name in ("ZTD_CLIENT_ID", "ZTD_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with live_server(create_app(settings, db=db, embedded_worker=True)) as url:
        monkeypatch.setenv("ZTD_URL", url)
        monkeypatch.setenv("ZTD_TOKEN", world.token)
        yield Cli(url, world, make_app())


@pytest.fixture
def cli_in_process(
    client: TestClient, world: World, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> InProcessCli:
    """The commands over the real app in-process, with fake time: each wait of a poller
    runs the worker instead of sleeping, so `--wait` is instant and deterministic."""
    time = FakeTime(worker)
    options = {"http_client": client, "sleep": time.sleep, "clock": time.clock}
    monkeypatch.setattr(_common, "CLIENT_OPTIONS", options)
    for name in ("ZTD_CLIENT_ID", "ZTD_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZTD_URL", "http://testserver")
    monkeypatch.setenv("ZTD_TOKEN", world.token)
    return InProcessCli("http://testserver", world, make_app(), time)
