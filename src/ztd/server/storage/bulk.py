"""Bulk writes on the hot paths (enqueue, registration), below SQLAlchemy's per-row cost.

SQLAlchemy Core spends ~20 µs per row building parameters; for 10,000-device jobs that is
most of the time. These helpers hand tuples straight to the driver: COPY on PostgreSQL,
executemany on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection


def db_time(conn: Connection, value: datetime) -> Any:
    """A timestamp as the driver should receive it. SQLite stores SQLAlchemy's text form (UTC
    fields, no zone), so rows written here read back exactly like rows written by Core."""
    if conn.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        driver: Any = conn.connection.driver_connection  # the psycopg connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({names}) VALUES ({marks})", [tuple(row) for row in rows]
    )
