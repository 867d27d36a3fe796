"""The database of the server and admin commands, and a word when an admin command
creates one."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from sqlalchemy.engine import make_url

from ztd.cli.database_faults import database_faults, refuse
from ztd.cli.output import console
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.server.url_text import shown_url


def open_database(settings: Settings) -> Database:
    """Open the database; migrate the embedded SQLite default, insist on a current schema
    elsewhere (operators migrate PostgreSQL deliberately with `ztd db upgrade`). Any failure
    to open or check it is one line on stderr and exit code 2 (`database_faults`)."""
    url = settings.resolved_database_url
    with database_faults(url, "open"):
        db = Database(url)
        if db.is_sqlite:
            migrate.upgrade(db)
            return db
        current = migrate.is_current(db)
    if not current:
        refuse(
            f"the database {shown_url(url)} has not the current schema. Run `ztd db upgrade` "
            "with the same ZTD_DATABASE_URL first."
        )
    return db


def upgraded_database(settings: Settings) -> tuple[Database, str | None]:
    """The database migrated to the latest schema, and its revision after; failures as in
    `open_database`."""
    url = settings.resolved_database_url
    with database_faults(url, "migrate"):
        db = Database(url)
        migrate.upgrade(db)
        return db, migrate.current_revision(db)


def say_which_database(settings: Settings) -> None:
    """One line on stderr naming the database (password hidden): a worker or server started
    without ZTD_DATABASE_URL would otherwise quietly use a local SQLite file."""
    url = settings.resolved_database_url
    origin = "ZTD_DATABASE_URL" if settings.database_url else "default: no ZTD_DATABASE_URL"
    console(stderr=True).print(f"database {escape(shown_url(url))} ({origin})", highlight=False)


def prepare_database(settings: Settings) -> Database:
    """The database, saying so when this command has just created it: an admin command run
    from another directory (or with another ZTD_DATA_DIR) would otherwise write to a new,
    empty database that the running server never reads."""
    with database_faults(settings.resolved_database_url, "open"):
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
