"""Bulk writes on the hot paths (enqueue, registration), below SQLAlchemy's per-row cost.

SQLAlchemy Core spends ~20 µs per row building parameters; for 10,000-device jobs that is
most of the time. These helpers hand tuples straight to the driver: PostgreSQL COPY when no
conflict handling is needed, otherwise the driver's executemany (psycopg pipelines it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table


def db_time(conn: Connection, value: datetime) -> Any:
    """A timestamp as the driver should receive it. SQLite stores SQLAlchemy's text form (UTC
    fields, no zone), so rows written here read back exactly like rows written by Core."""
    if conn.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """Insert ``rows``; returns how many landed, or -1 when the driver cannot tell."""
    if not rows:
        return 0
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql" and not ignore_conflicts:
        _copy(conn, table.name, names, rows)
        return len(rows)
    if conn.dialect.name == "postgresql":
        return _copy_then_insert(conn, table, names, rows)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    result = conn.exec_driver_sql(sql, [tuple(row) for row in rows])
    return int(result.rowcount)


def _copy(conn: Connection, table_name: str, names: str, rows: Sequence[Sequence[Any]]) -> None:
    driver: Any = conn.connection.driver_connection  # the psycopg connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {table_name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_then_insert(
    conn: Connection, table: Table, names: str, rows: Sequence[Sequence[Any]]
) -> int:
    """COPY into a scratch table, then one INSERT ... ON CONFLICT DO NOTHING: COPY speed with
    the unique keys still deciding races (row-by-row executemany is several times slower)."""
    scratch = f"_bulk_{table.name}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {scratch} "
        f"AS SELECT {names} FROM {table.name} WITH NO DATA"
    )
    _copy(conn, scratch, names, rows)
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {scratch} ON CONFLICT DO NOTHING"
    )
    conn.exec_driver_sql(f"TRUNCATE {scratch}")
    return int(result.rowcount)
