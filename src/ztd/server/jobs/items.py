"""Reading a chunk's items (``job_items`` rows in a range of ordinals), for the engine and the
job kinds alike."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from ztd.server.jobs.documents import ItemEcho
from ztd.server.storage.schema import job_items


class ItemSpan(Protocol):
    """A chunk's items: those of job ``job_id`` with ``first_ordinal <= ordinal <
    end_ordinal``."""

    @property
    def job_id(self) -> str: ...
    @property
    def first_ordinal(self) -> int: ...
    @property
    def end_ordinal(self) -> int: ...


class ItemRow(NamedTuple):
    """The small columns of a chunk's item: all that processing and the chunk's part of the
    status document read (the hash stays in the database)."""

    ordinal: int
    device_ref: str | None
    serial_number: str | None
    product_key: str | None
    device_id: str | None
    policy_ref: str | None
    precheck_code: str | None
    precheck_name: str | None
    precheck_detail: str | None
    has_hash: bool

    @property
    def echo(self) -> ItemEcho:
        return self.device_ref, self.serial_number, self.product_key


def read_items(conn: Connection, span: ItemSpan) -> list[ItemRow]:
    """The span's items in request order, in one read. The driver's own tuples are several
    times cheaper than SQLAlchemy Rows for thousands of items."""
    item = job_items.c
    has_hash = or_(item.hash_blob.is_not(None), item.hardware_hash.is_not(None))
    result = conn.execute(
        select(
            item.ordinal,
            item.device_ref,
            item.serial_number,
            item.product_key,
            item.device_id,
            item.policy_ref,
            item.precheck_code,
            item.precheck_name,
            item.precheck_detail,
            has_hash,
        )
        .where(in_span(span))
        .order_by(item.ordinal)
    )
    return [ItemRow._make(row) for row in result.cursor.fetchall()]


def in_span(span: ItemSpan) -> ColumnElement[bool]:
    """The WHERE clause selecting the span's ``job_items`` rows."""
    return and_(
        job_items.c.job_id == span.job_id,
        job_items.c.ordinal >= span.first_ordinal,
        job_items.c.ordinal < span.end_ordinal,
    )
