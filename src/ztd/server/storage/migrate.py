"""Schema migrations with Alembic, run from code (``ztd db upgrade``, ``ztd serve``).

Revision 0001 is the schema of ztd 0.1.0; the pre-release revisions were squashed into it,
so a database stamped with a revision this code does not know (one made by a pre-release
build, or by a newer ztd) is refused with `UnknownRevisionError` rather than migrated.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ztd.server.storage.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class UnknownRevisionError(RuntimeError):
    """The database carries a schema revision that none of this code's migrations names."""

    def __init__(self, revision: str, known: list[str]) -> None:
        self.revision = revision
        super().__init__(
            f"the database is at schema revision {revision!r}, which this version of ztd "
            f"does not know (it knows {', '.join(known)}): it was made by a pre-release "
            "build of ztd, whose layout is not carried forward, or by a newer ztd. Start "
            "from a new database, or run the ztd version that made it."
        )


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database"] = db
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate ``db`` to ``revision``. Raises `UnknownRevisionError` (nothing changed) when
    the database is at a revision this code does not know."""
    _check_known(db)
    command.upgrade(alembic_config(db), revision)


def current_revision(db: Database) -> str | None:
    """The database's revision id; None for a database no migration has touched."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return _scripts(db).get_current_head()


def is_current(db: Database) -> bool:
    """True when ``db`` is at the head revision. Raises `UnknownRevisionError` when it is
    at a revision this code does not know (no upgrade could make it current)."""
    return _check_known(db) == head_revision(db)


def _scripts(db: Database) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(db))


def _check_known(db: Database) -> str | None:
    current = current_revision(db)
    scripts = _scripts(db)
    known = [script.revision for script in scripts.walk_revisions()]
    if current is not None and current not in known:
        raise UnknownRevisionError(current, sorted(known))
    return current
