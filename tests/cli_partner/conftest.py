"""CLI tests: `ztd upload/status/batches/devices` through typer's CliRunner against a real
server on a port (uvicorn in a thread, embedded worker), configured by ZTD_* variables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import typer
from typer.testing import CliRunner, Result

from tests.conftest import World
from tests.support.live_server import live_server
from ztd.cli import identity_commands, partner_commands
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the CLI does not care; the server tests run both backends


@dataclass
class Cli:
    url: str
    world: World
    app: typer.Typer

    def __call__(self, *args: str) -> Result:
        # A wide terminal, so that Rich does not wrap the lines the tests look for.
        return CliRunner().invoke(self.app, list(args), env={"COLUMNS": "200"})


def make_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    partner_commands.register(app)
    identity_commands.register(app)
    return app


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
