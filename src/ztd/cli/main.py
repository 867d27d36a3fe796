"""The `ztd` command.

The partner and file commands (`ztd upload`, `ztd csv check`, ...) need neither the
database nor the server: for them the server-side modules (SQLAlchemy, Alembic, the key
store) are not imported, which halves the command's start-up time.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

# Top-level commands that need only the SDK and the identity code.
CLIENT_SIDE = frozenset(
    {"upload", "status", "batches", "devices", "policies", "hash", "csv", "demo-data"}
)


def build(argv: Sequence[str] = ()) -> typer.Typer:
    """The `ztd` app: every command, or only the client-side ones when ``argv`` runs one
    of those (and does not ask for the list of commands)."""
    from ztd.cli import identity_commands, partner_commands

    app = typer.Typer(
        name="ztd",
        help="Partner Center device deployment: server, admin, and partner tools.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    if not (len(argv) > 1 and argv[1] in CLIENT_SIDE):
        from ztd.cli import admin_commands, server_commands

        server_commands.register(app)
        admin_commands.register(app)
    identity_commands.register(app)
    partner_commands.register(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole app, for tests and tools that import it
        return build()
    raise AttributeError(name)


def run() -> None:
    build(sys.argv)()
