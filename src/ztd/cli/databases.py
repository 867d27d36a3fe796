"""The database of the server and admin commands, and a word when an admin command
creates one."""

from __future__ import annotations

from pathlib import Path

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
        migrate.upgrade(db)
    elif not migrate.is_current(db):
        console(stderr=True).print(
            "[red]The database schema is not current.[/] Run `ztd db upgrade` with the same "
            "ZTD_DATABASE_URL first."
        )
        raise typer.Exit(2)
    return db


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
