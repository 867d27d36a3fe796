"""Bulk writes on the hot paths (enqueue, registration), below SQLAlchemy's per-row cost.

SQLAlchemy Core spends ~20 µs per row building parameters; for 10,000-device jobs that is
most of the time. These helpers hand tuples straight to the driver: COPY on PostgreSQL,
executemany on SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, Connection, DateTime, Integer, LargeBinary, Table
from sqlalchemy.dialects import postgresql, sqlite


def db_time(conn: Connection, value: datetime) -> Any:
    """A timestamp as the driver should receive it. SQLite stores SQLAlchemy's text form (UTC
    fields, no zone), so rows written here read back exactly like rows written by Core."""
    if conn.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` in ``conn``'s dialect, which has ON CONFLICT (the generic
    one has not)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def inserts_in_background(dialect: str) -> bool:
    """Whether BackgroundInserts overlaps its inserts with the caller's work on a database
    of ``dialect`` (SQLAlchemy's name): SQLite with JSON operators. Elsewhere each slice is
    inserted as it is added, with nothing to overlap."""
    return dialect == "sqlite" and SQLITE_HAS_JSON_ARROWS


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        # Binary COPY with declared types: about 3x faster than text COPY from Python.
        driver: Any = conn.connection.driver_connection  # the psycopg connection
        sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types([_pg_type(table.c[name]) for name in columns])
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})", [tuple(row) for row in rows]
    )


class BackgroundInserts:
    """Inserts rows on a second thread while the caller works out the next ones (SQLite).

    Made for enqueueing an upload: checking 1,000 hashes is Python work that holds the GIL,
    while SQLite inserting the previous 1,000 rows as one statement (see _sqlite_json_insert)
    does not, so the two run on two cores at once. The statement's parameters are built on
    the caller's thread: Python work on the second thread would only make the two wait for
    the GIL in turn. One statement at a time runs on the connection; the caller must not use
    it between ``add`` and leaving the ``with`` block, which waits for the last insert.

    PostgreSQL inserts right away with binary COPY, whose row encoding needs the GIL.
    """

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        self.conn, self.table, self.columns = conn, table, columns
        self._pending: Future[Any] | None = None

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        if not inserts_in_background(self.conn.dialect.name):
            insert_rows(self.conn, self.table, self.columns, rows)
            return
        if not rows:
            return
        prepared = _sqlite_json_insert(self.table, self.columns, rows)
        self.wait()
        if prepared is None:
            insert_rows(self.conn, self.table, self.columns, rows)
            return
        self._pending = _inserter.submit(self.conn.exec_driver_sql, *prepared)

    def wait(self) -> None:
        """Wait for the insert under way; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # re-raises the insert's error here, in the caller's thread

    def __enter__(self) -> BackgroundInserts:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.wait()
        elif self._pending is not None:
            # The transaction is about to roll back: not while a statement still runs on it.
            self._pending.exception()


# The ->> operator (and JSON functions built in) arrived with SQLite 3.38 (2022); an older
# library inserts each slice with executemany, right away, as PostgreSQL does with COPY.
SQLITE_HAS_JSON_ARROWS = sqlite3.sqlite_version_info >= (3, 38, 0)

# How JSON writes a NUL character. (A text holding a backslash and then "u0000" matches too,
# and merely takes the executemany path.)
_NUL = "\\u0000"

# One thread per concurrent upload at most; more would only queue behind SQLite's lock.
_inserter = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ztd-insert")


def _sqlite_json_insert(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[str, tuple[bytes, str]] | None:
    """One ``INSERT ... SELECT`` over ``json_each`` for ``rows``: a single statement runs
    wholly inside SQLite, which Python's sqlite3 module runs without holding the GIL
    (executemany takes it back for every row). Binary values travel as one concatenated
    blob and are cut out with ``substr``; the others as JSON. None when a value would not
    come back exactly that way (the caller then uses executemany): a text with a NUL, which
    ->> cuts short, or an integer beyond 53 bits, which JSON may turn into a REAL."""
    kinds = [table.c[name].type for name in columns]
    if any(isinstance(kind, DateTime) for kind in kinds):  # JSON would write them differently
        raise TypeError("timestamps cannot take the JSON path; use insert_rows")
    blob_at = [i for i, kind in enumerate(kinds) if isinstance(kind, LargeBinary)]
    # substr() of an empty blob is NULL, not an empty blob: a leading byte keeps the
    # parameter non-empty, so b"" cut out of it stays b"".
    parts: list[bytes] = [b"\0"]
    offset = 2  # substr counts from 1, and byte 1 is that leading one
    meta: list[list[Any]] = []
    for row in rows:
        element = list(row)
        for i in reversed(blob_at):  # from the right: earlier positions stay put
            value = element[i]
            if value is None:
                element[i : i + 1] = (None, None)  # substr(x, NULL, NULL) is NULL
            else:
                value = bytes(value)  # a memoryview's len() need not count bytes
                parts.append(value)
                element[i : i + 1] = (offset, len(value))
                offset += len(value)
        meta.append(element)
    try:
        text = orjson.dumps(meta, option=orjson.OPT_STRICT_INTEGER).decode()
    except orjson.JSONEncodeError:
        return None
    if _NUL in text:
        return None
    selected = []
    k = 0
    for i in range(len(columns)):
        if i in blob_at:
            selected.append(f"substr(?1, value->>{k}, value->>{k + 1})")
            k += 2
        else:
            selected.append(f"value->>{k}")
            k += 1
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM json_each(?2)"
    )
    return statement, (b"".join(parts), text)  # JSON as text: a blob would not be JSON


def _pg_type(column: Column[Any]) -> str:
    """The PostgreSQL type a binary COPY must declare for ``column``."""
    kind = column.type
    if isinstance(kind, LargeBinary):
        return "bytea"
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    return "text"  # String and Text: varchar shares text's binary format
