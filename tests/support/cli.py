"""The partner commands as tests run them: a Typer app of the client-side commands and a
runner bound to a server URL and a seeded world."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from typer.testing import CliRunner, Result

from tests.support.fake_time import FakeTime
from tests.support.world import World
from ztd.cli import identity_commands, partner_commands, policy_commands, webhook_commands
from ztd.cli.usage import reflow_help


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
    policy_commands.register(app)
    identity_commands.register(app)
    webhook_commands.register(app)
    reflow_help(app)  # as the `ztd` app does
    return app


@dataclass
class InProcessCli(Cli):
    time: FakeTime
