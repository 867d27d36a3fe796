"""Reset and snapshots: a test suite starts from a known world in milliseconds.

A snapshot is every stored row of the service's tables (not the emulator's own controls), as
JSON: importing it into any ztd of the same schema gives byte-identical list answers.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.types import DateTime, LargeBinary

from ztd.server.emulator.specs import TenantId
from ztd.server.storage.schema import (
    applications,
    batch_jobs,
    configuration_policies,
    customers,
    device_batches,
    devices,
    emulator_faults,
    emulator_holds,
    emulator_requests,
    emulator_rules,
    emulator_throttle_hits,
    emulator_throttling,
    emulator_world,
    idempotency_records,
    job_chunks,
    job_items,
    metadata,
    partner_customers,
    partners,
)

SNAPSHOT_FORMAT = "ztd-snapshot/1"
_CONTROLS = {
    t.name
    for t in (
        emulator_rules,
        emulator_faults,
        emulator_holds,
        emulator_requests,
        emulator_throttling,
        emulator_throttle_hits,
        emulator_world,
    )
}
TENANT_TABLES = (applications, partner_customers, customers, partners)


class ResetRequest(BaseModel):
    model_config = {"populate_by_name": True, "extra": "forbid"}

    partner_id: TenantId | None = Field(None, alias="partnerId")
    customer_id: TenantId | None = Field(None, alias="customerId")
    keep_tenants: bool = Field(False, alias="keepTenants")


class TableRows(BaseModel):
    columns: list[str]
    rows: list[list[Any]]


class Snapshot(BaseModel):
    format: str = SNAPSHOT_FORMAT
    tables: dict[str, TableRows]


def reset(conn: Connection, request: ResetRequest) -> dict[str, int]:
    """Delete the scope's data (and its tenants unless ``keepTenants``); rows deleted by table.
    Advances the world's generation in the same transaction."""
    counts = _delete_scope(conn, request)
    advance_generation(conn)
    return counts


def advance_generation(conn: Connection) -> int:
    """Count one more replacement of the stored world; returns the new generation. Every API
    process sees it with its next refresh of the emulator's controls and drops what it
    cached (see ``ControlCache``)."""
    w = emulator_world.c
    new = conn.execute(
        update(emulator_world)
        .where(w.id == 1)
        .values(generation=w.generation + 1)
        .returning(w.generation)
    ).scalar_one_or_none()
    if new is None:  # never reset before (or the row was truncated)
        conn.execute(insert(emulator_world).values(id=1, generation=1))
        new = 1
    return int(new)


def read_generation(conn: Connection) -> int:
    """The world's generation: 0 until the first reset."""
    return int(conn.execute(select(emulator_world.c.generation)).scalar() or 0)


def _delete_scope(conn: Connection, request: ResetRequest) -> dict[str, int]:
    counts: dict[str, int] = {}

    def drop(table: Table, *where: ColumnElement[bool]) -> None:
        n = conn.execute(delete(table).where(*where)).rowcount
        counts[table.name] = counts.get(table.name, 0) + n

    if request.partner_id is None and request.customer_id is None:
        keep = set(t.name for t in TENANT_TABLES) if request.keep_tenants else set()
        keep.add(emulator_world.name)  # it counts resets: never back to a value seen before
        for table in reversed(metadata.sorted_tables):
            if table.name not in keep:
                drop(table)
        return counts
    customer_ids: list[str] = []
    if request.customer_id is not None:
        customer_ids.append(request.customer_id)
    partner_id = request.partner_id
    if partner_id is not None and request.customer_id is None:
        customer_ids += conn.execute(
            select(partner_customers.c.customer_id).where(
                partner_customers.c.partner_id == partner_id
            )
        ).scalars()
    jobs = select(batch_jobs.c.id).where(batch_jobs.c.customer_id.in_(customer_ids))
    for table, column in (
        (job_items, job_items.c.job_id),
        (job_chunks, job_chunks.c.job_id),
        (emulator_holds, emulator_holds.c.job_id),
    ):
        drop(table, column.in_(jobs))
    for table in (devices, batch_jobs, device_batches, configuration_policies):
        drop(table, table.c.customer_id.in_(customer_ids))
    for table in (emulator_rules, emulator_faults):
        drop(
            table,
            or_(
                table.c.customer_id.in_(customer_ids),
                table.c.partner_id == partner_id if partner_id else false(),
            ),
        )
    if partner_id is not None:
        drop(idempotency_records, idempotency_records.c.partner_id == partner_id)
    if not request.keep_tenants:
        drop(partner_customers, partner_customers.c.customer_id.in_(customer_ids))
        if partner_id is not None and request.customer_id is None:
            drop(applications, applications.c.partner_id == partner_id)
            drop(partner_customers, partner_customers.c.partner_id == partner_id)
            drop(partners, partners.c.id == partner_id)
        orphans = ~customers.c.id.in_(select(partner_customers.c.customer_id))
        drop(customers, customers.c.id.in_(customer_ids), orphans)
    return counts


def export(conn: Connection) -> Snapshot:
    tables: dict[str, TableRows] = {}
    for table in metadata.sorted_tables:
        if table.name in _CONTROLS:
            continue
        columns = list(table.columns)
        key = list(table.primary_key.columns)
        rows = conn.execute(select(*columns).order_by(*key)).all()
        tables[table.name] = TableRows(
            columns=[c.name for c in columns],
            rows=[[_dump(c.type, v) for c, v in zip(columns, row, strict=True)] for row in rows],
        )
    return Snapshot(tables=tables)


def restore(conn: Connection, snapshot: Snapshot) -> dict[str, int]:
    """Replace the whole world with ``snapshot``; rows imported by table."""
    if snapshot.format != SNAPSHOT_FORMAT:
        raise ValueError(f"format {snapshot.format!r}: this ztd reads {SNAPSHOT_FORMAT!r}")
    known = {t.name: t for t in metadata.sorted_tables if t.name not in _CONTROLS}
    for name, data in snapshot.tables.items():
        table = known.get(name)
        if table is None:
            raise ValueError(f"tables.{name}: no such table (known: {', '.join(sorted(known))})")
        unknown = set(data.columns) - set(table.columns.keys())
        if unknown:
            raise ValueError(f"tables.{name}.columns: unknown {sorted(unknown)}")
        for i, row in enumerate(data.rows):
            if len(row) != len(data.columns):
                raise ValueError(
                    f"tables.{name}.rows[{i}]: {len(row)} values for {len(data.columns)} columns"
                )
    reset(conn, ResetRequest())
    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        given = snapshot.tables.get(table.name)
        if not given or not given.rows:
            continue
        types = [table.c[name].type for name in given.columns]
        values = [
            {name: _load(t, v) for name, t, v in zip(given.columns, types, row, strict=True)}
            for row in given.rows
        ]
        conn.execute(table.insert(), values)
        counts[table.name] = len(values)
        _advance_identity(conn, table)
    return counts


def _advance_identity(conn: Connection, table: Table) -> None:
    """PostgreSQL hands out identity values from a sequence that imported rows do not move."""
    if conn.dialect.name != "postgresql" or "pk" not in table.c:
        return
    top = conn.execute(select(func.max(table.c.pk))).scalar()
    if top is not None:
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:t, 'pk'), :v)"), {"t": table.name, "v": top}
        )


def _dump(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, LargeBinary):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(kind, DateTime):
        return value.isoformat()
    return value


def _load(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    return value
