"""The database of `ztd admin` commands, and a word when one is created."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from sqlalchemy.engine import make_url

from ztd.cli.output import console
from ztd.cli.server_commands import prepare_database as _prepare
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


def prepare_database(settings: Settings) -> Database:
    """The database, saying so when this command has just created it: an admin command run
    from another directory (or with another ZTD_DATA_DIR) would otherwise write to a new,
    empty database that the running server never reads."""
    url = make_url(settings.resolved_database_url)
    path = Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None
    existed = path is None or path.exists()
    db = _prepare(settings)
    if not existed and path is not None:
        console(stderr=True).print(
            f"[yellow]created a new database at {escape(str(path))}[/] (ZTD_DATA_DIR="
            f"{escape(str(settings.data_dir))}); a server started elsewhere does not see it",
            highlight=False,
        )
    return db
