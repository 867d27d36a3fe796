"""The `ztd` command.

The partner and file commands (`ztd upload`, `ztd csv check`, ...) need neither the
database nor the server: for them the server-side modules (SQLAlchemy, Alembic, the key
store) are not imported, which halves the command's start-up time.

Each command module has one ``register(app)`` that adds its commands (module-level
functions) to the app; this module is the only one that calls them. The command line is
the ``ztd[cli]`` extra and the service's commands need ``ztd[server]``: without them, the
``ztd`` script says which extra to install instead of failing on an import.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# Top-level commands that need only the SDK and the identity code.
CLIENT_SIDE = frozenset(
    {
        "upload",
        "status",
        "batches",
        "devices",
        "policies",
        "hash",
        "csv",
        "demo-data",
        "listen",
        "webhooks",
    }
)
# The service's commands (ztd[server]), with their help when the service is not installed.
SERVER_SIDE = {
    "serve": "Run the API server.",
    "worker": "Run a standalone job worker.",
    "db": "Database schema.",
    "admin": "Administer partners, customers and tokens.",
    "emulator": "Drive the emulator's controls.",
}
CLI_INSTALL = "pip install 'ztd[cli]'"
SERVER_INSTALL = "pip install 'ztd[server]'"
EXIT_NOT_INSTALLED = 1
EXIT_BAD_SETTING = 2  # as for a database that cannot be opened: a setup mistake


def build(argv: Sequence[str] = ()) -> typer.Typer:
    """The `ztd` app: every command, or only the client-side ones when ``argv`` runs one
    of those (and does not ask for the list of commands)."""
    import typer

    from ztd.cli import (
        identity_commands,
        listen_command,
        partner_commands,
        policy_commands,
        webhook_commands,
    )
    from ztd.cli.usage import ZtdGroup, reflow_help

    app = typer.Typer(
        name="ztd",
        cls=ZtdGroup,
        help="Partner Center device deployment: server, admin, and partner tools.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    if not (len(argv) > 1 and argv[1] in CLIENT_SIDE):
        _register_server_side(app)
    identity_commands.register(app)
    partner_commands.register(app)
    policy_commands.register(app)
    listen_command.register(app)
    webhook_commands.register(app)
    reflow_help(app)  # the docstrings' paragraphs, wrapped at the terminal's width
    return app


def _register_server_side(app: typer.Typer) -> None:
    try:
        from ztd.cli import admin_commands, emulator_commands, server_commands
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        if missing.split(".")[0] == "ztd":  # our own module missing is a bug, not an extra
            raise
        from rich.markup import escape  # help is Rich markup: [server] would vanish

        for name, help_text in SERVER_SIDE.items():
            app.command(
                name,
                help=escape(f"{help_text} Needs the service: {SERVER_INSTALL}."),
                context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                add_help_option=False,
            )(_not_installed(missing))
        return
    server_commands.register(app)
    admin_commands.register(app)
    emulator_commands.register(app)  # ztd.testing runs an emulator in-process: the service


def _not_installed(missing: str) -> Callable[[], None]:
    def command() -> None:
        """Say which extra to install, whatever the arguments."""
        import typer
        from rich.markup import escape

        from ztd.cli.output import console

        console(stderr=True).print(
            "[red]error:[/] "
            + escape(
                f"this command needs the service, which is not installed (no module "
                f"{missing!r}); install it with: {SERVER_INSTALL}"
            ),
            highlight=False,
        )
        raise typer.Exit(EXIT_NOT_INSTALLED)

    return command


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole app, for tests and tools that import it
        return build()
    raise AttributeError(name)


def run() -> None:
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"ztd: the command line is not installed (no module {exc.name!r}); "
            f"install it with: {CLI_INSTALL}\n"
        )
        raise SystemExit(EXIT_NOT_INSTALLED) from None
    try:
        build(sys.argv)()
    except ValueError as exc:  # pydantic's errors are ValueErrors; a bug's are shown whole
        _refuse_bad_setting(exc)
        raise


def _refuse_bad_setting(exc: ValueError) -> None:
    """One line and exit code 2 when ``exc`` is an invalid ZTD_* setting, whichever command
    read the settings (serve, worker, db upgrade, admin ...); otherwise nothing."""
    if "ztd.server.settings" not in sys.modules:  # a command that reads no settings
        return
    from ztd.server.settings_errors import explain, is_settings_error

    if is_settings_error(exc):
        from rich.markup import escape

        from ztd.cli.output import console

        message = f"invalid setting {explain(exc)}"
        console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False)
        raise SystemExit(EXIT_BAD_SETTING) from None
