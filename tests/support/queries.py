"""Counting the SQL statements a piece of code sends, to hold query costs constant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from ztd.server.storage.database import Database


@contextmanager
def count_queries(db: Database) -> Iterator[list[str]]:
    """The statements sent on ``db``'s engines inside the block, without transaction
    control and the emulator's once-a-second control refresh."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The emulator's controls are refreshed once a second per process, not per read.
        if not statement.startswith(("BEGIN", "PRAGMA")) and "emulator_" not in statement:
            statements.append(statement)

    engines = {db.read_engine, db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
