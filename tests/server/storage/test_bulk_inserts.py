"""BackgroundInserts: rows inserted while the caller works out the next ones land exactly as
given (SQLite's one-statement JSON path and PostgreSQL's COPY alike), and a failed insert
reaches the caller and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import BigInteger, Column, LargeBinary, MetaData, Table, Text, select
from sqlalchemy.exc import IntegrityError

from ztd.server.storage import bulk
from ztd.server.storage.bulk import BackgroundInserts
from ztd.server.storage.database import Database

TRICKY_TEXT = [
    "plain",
    "emoji 😀 and ß",
    'quote " and backslash \\',
    "  spaced  ",
    "123",  # stays text, not a number
    "",
    "\u2028line separator",
    "tab\tnew\nline",
    "\x01control",
    "back\\u0000slash",  # looks like an escaped NUL in JSON, is not one
    None,
]


COLUMNS = ("n", "label", "data", "more")


@pytest.fixture
def rows_table(db: Database) -> Table:
    return _probe_table(db)


def _probe_table(db: Database) -> Table:
    table = Table(
        "bulk_probe",
        MetaData(),
        Column("n", BigInteger, primary_key=True),
        Column("label", Text, nullable=True),
        Column("data", LargeBinary, nullable=True),
        Column("more", LargeBinary, nullable=True),
    )
    with db.write() as conn:
        table.drop(conn, checkfirst=True)
        table.create(conn)
    return table


def _rows(first: int, count: int) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for n in range(first, first + count):
        label = TRICKY_TEXT[n % len(TRICKY_TEXT)]
        data = None if n % 5 == 0 else b"" if n % 7 == 0 else bytes([n % 256]) * (n % 300 + 1)
        more = b"\x00\xff" * (n % 3) if n % 4 else None
        out.append((n, label, data, more))
    return out


@pytest.mark.parametrize("json_arrows", [True, False], ids=["sqlite>=3.38", "older sqlite"])
def test_rows_land_exactly_as_given(
    db: Database, rows_table: Table, json_arrows: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An SQLite older than 3.38 has no ->> operator: each slice then goes in by executemany.
    monkeypatch.setattr(bulk, "SQLITE_HAS_JSON_ARROWS", json_arrows)
    expected = []
    with (
        db.write() as conn,
        BackgroundInserts(conn, rows_table, COLUMNS) as w,
    ):
        for first in range(0, 2_000, 250):
            batch = _rows(first, 250)
            w.add(batch)
            expected += batch
    assert _read(db, rows_table) == expected


def test_a_text_with_a_nul_character_is_kept_whole(tmp_path: Path) -> None:
    """SQLite only: PostgreSQL text cannot hold NUL at all, and only SQLite's JSON path
    would cut such a string short."""
    db = Database(f"sqlite:///{tmp_path / 'nul.sqlite3'}")
    try:
        table = _probe_table(db)
        batch = [(1, "before\x00after", b"x", None), (2, "fine", None, b"")]
        with db.write() as conn, BackgroundInserts(conn, table, COLUMNS) as w:
            w.add(batch)
        assert _read(db, table) == batch
    finally:
        db.dispose()


def test_empty_blobs_stay_empty_and_odd_values_land_exactly(
    db: Database, rows_table: Table
) -> None:
    """Found in review: SQLite's substr() of an empty blob is NULL, so a slice whose only
    bytes were b"" stored NULLs; an integer past 53 bits could come back from JSON as a
    REAL; a memoryview's len() need not count bytes."""
    only_empty = [(1, "a", b"", None), (2, "b", b"", b"")]
    big_number = [(2**62, "big", b"x", None)]
    views = [(3, "view", memoryview(b"abcd").cast("H"), bytearray(b"ef"))]
    with db.write() as conn, BackgroundInserts(conn, rows_table, COLUMNS) as w:
        for batch in (only_empty, big_number, views):
            w.add(batch)
    assert _read(db, rows_table) == [
        (1, "a", b"", None),
        (2, "b", b"", b""),
        (3, "view", b"abcd", b"ef"),
        (2**62, "big", b"x", None),
    ]


def test_a_failed_insert_reaches_the_caller_and_nothing_stays(
    db: Database, rows_table: Table
) -> None:
    failure = (IntegrityError, psycopg.IntegrityError)  # COPY raises psycopg's own
    with (
        pytest.raises(failure),
        db.write() as conn,
        BackgroundInserts(conn, rows_table, COLUMNS) as w,
    ):
        w.add(_rows(0, 100))
        w.add(_rows(50, 100))  # primary keys 50..99 again
        w.add(_rows(500, 100))
    with db.read() as conn:
        assert conn.execute(select(rows_table)).all() == []


def _read(db: Database, table: Table) -> list[tuple[object, ...]]:
    with db.read() as conn:
        got = conn.execute(select(table).order_by(table.c.n)).all()
    return [(n, label, _b(d), _b(m)) for n, label, d, m in got]


def _b(value: object) -> bytes | None:
    return None if value is None else bytes(value)  # type: ignore[call-overload]
