"""The `ztd` command."""

from __future__ import annotations

import typer

from ztd.cli import (
    admin_commands,
    emulator_commands,
    identity_commands,
    partner_commands,
    server_commands,
)

app = typer.Typer(
    name="ztd",
    help="Partner Center device deployment: server, admin, and partner tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
server_commands.register(app)
admin_commands.register(app)
identity_commands.register(app)
partner_commands.register(app)
emulator_commands.register(app)


def run() -> None:
    app()
