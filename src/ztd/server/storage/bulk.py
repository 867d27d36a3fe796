"""Bulk writes on the hot paths (enqueue, registration), below SQLAlchemy's per-row cost.

SQLAlchemy Core spends ~20 µs per row building parameters; for 10,000-device jobs that is
most of the time. These helpers hand tuples straight to the driver: COPY on PostgreSQL,
executemany on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, DateTime, Integer, LargeBinary, Table


def db_time(conn: Connection, value: datetime) -> Any:
    """A timestamp as the driver should receive it. SQLite stores SQLAlchemy's text form (UTC
    fields, no zone), so rows written here read back exactly like rows written by Core."""
    if conn.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


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
