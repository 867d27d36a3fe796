"""The database of the server and admin commands, and a word when an admin command
creates one."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url

from ztd.cli.output import console
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database


def open_database(settings: Settings) -> Database:
    """Open the database; migrate the embedded SQLite default, insist on a current schema
    elsewhere (operators migrate PostgreSQL deliberately with `ztd db upgrade`)."""
    db = Database(settings.resolved_database_url)
    if db.is_sqlite:
        upgrade_or_exit(db)
    elif not _is_current_or_exit(db):
        console(stderr=True).print(
            "[red]The database schema is not current.[/] Run `ztd db upgrade` with the same "
            "ZTD_DATABASE_URL first."
        )
        raise typer.Exit(2)
    return db


def upgrade_or_exit(db: Database) -> None:
    """Migrate ``db`` to the latest schema; a database of an unknown revision is one line on
    stderr and exit code 2."""
    try:
        migrate.upgrade(db)
    except migrate.UnknownRevisionError as exc:
        _refuse(exc)


def _is_current_or_exit(db: Database) -> bool:
    try:
        return migrate.is_current(db)
    except migrate.UnknownRevisionError as exc:
        _refuse(exc)


def _refuse(exc: migrate.UnknownRevisionError) -> NoReturn:
    console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(2)


def prepare_database(settings: Settings) -> Database:
    """The database, saying so when this command has just created it: an admin command run
    from another directory (or with another ZTD_DATA_DIR) would otherwise write to a new,
    empty database that the running server never reads."""
    url = make_url(settings.resolved_database_url)
    path = Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None
    existed = path is None or path.exists()
    db = open_database(settings)
    if not existed and path is not None:
        console(stderr=True).print(
            f"[yellow]created a new database at {escape(str(path))}[/] (ZTD_DATA_DIR="
            f"{escape(str(settings.data_dir))}); a server started elsewhere does not see it",
            highlight=False,
        )
    return db
