"""Registering uploaded devices in the registry: the 806 / 808 rules.

Race safety comes from the database: devices are inserted with ON CONFLICT DO NOTHING against
the unique identity keys, so of two jobs registering one device concurrently exactly one
insert lands; the other finds the owner afterwards and reports 806 or 808. Every step works
on a whole chunk with a handful of set-based statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    or_,
    select,
    text,
)
from sqlalchemy.schema import CreateTable

from ztd.identity import dds
from ztd.server.jobs.documents import ItemOutcome
from ztd.server.jobs.leases import Lease, chunk_items
from ztd.server.services import oem_registry
from ztd.server.settings import RegistrationMode
from ztd.server.storage.bulk import db_time, insert_rows
from ztd.server.storage.ids import new_ids
from ztd.server.storage.schema import devices, job_items

# Bound-parameter lists stay well under SQLite's and PostgreSQL's limits.
IN_LIST_SIZE = 500


def register_chunk(
    conn: Connection,
    lease: Lease,
    job: Row[Any],
    now: datetime,
    mode: RegistrationMode = RegistrationMode.OPEN,
) -> list[ItemOutcome]:
    # Only the small columns come to Python, and hashes are not copied at all: a device
    # points at the job item it came from, which holds most of the bytes of a job.
    has_hash = or_(job_items.c.hash_blob.is_not(None), job_items.c.hardware_hash.is_not(None))
    items = chunk_items(
        conn,
        lease,
        job_items.c.ordinal,
        job_items.c.precheck_code,
        job_items.c.precheck_name,
        job_items.c.hardware_key,
        job_items.c.pkid_key,
        job_items.c.model_name,
        job_items.c.manufacturer,
        has_hash.label("has_hash"),
    )
    unhashed = [i for i in items if not i.precheck_name and not i.has_hash]
    by_pkid, by_key = oem_registry.resolve(
        conn,
        [i.pkid_key for i in unhashed if i.pkid_key],
        [i.hardware_key for i in unhashed if i.hardware_key],
    )
    outcomes: list[ItemOutcome] = []
    plan: list[tuple[Any, ...]] = []
    fresh_ids = iter(new_ids(len(items)))
    for item in items:
        if item.precheck_name:
            outcomes.append([None, item.precheck_code, item.precheck_name])
            continue
        oem = None
        if not item.has_hash:
            oem = by_pkid.get(item.pkid_key or "") or by_key.get(item.hardware_key or "")
            if oem is None and mode is RegistrationMode.STRICT:
                error = dds.DEVICE_NOT_FOUND
                outcomes.append([None, error.code, error.name])
                continue
        device_id = next(fresh_ids)
        outcomes.append([device_id, None, None])
        plan.append(
            (
                item.ordinal,
                device_id,
                # An OEM record gives a hashless upload the machine's full identity.
                oem.hardware_key if oem else item.hardware_key,
                (oem.pkid_key if oem else None) or item.pkid_key,
                item.model_name or (oem.model_name if oem else None),
                item.manufacturer or (oem.manufacturer if oem else None),
            )
        )
    if not plan:
        return outcomes
    if _insert_planned(conn, plan, job, lease.job_id, now) == len(plan):
        return outcomes  # no conflict at all: the common case needs no further query

    planned = {row[1]: dict(zip(PLAN_COLUMNS, row, strict=True)) for row in plan}
    inserted = _existing_ids(conn, list(planned))
    refused = [row for device_id, row in planned.items() if device_id not in inserted]
    owners = _owners_by_key(conn, refused)
    by_id = {outcome[0]: outcome for outcome in outcomes if outcome[0]}
    for row in refused:
        owner = owners.get(row["hardware_key"]) or owners.get(row["pkid_key"])
        if owner is None:  # the conflicting device vanished meanwhile (deleted)
            error = dds.STORAGE_ERROR
        elif owner == job.customer_id:
            error = dds.DEVICE_ALREADY_ASSIGNED
        else:
            error = dds.DEVICE_ASSIGNED_TO_OTHER_TENANT
        by_id[row["id"]][:] = [None, error.code, error.name]
    return outcomes


# A per-connection scratch table: what to insert for each registrable item of a chunk.
_PLAN = Table(
    "_registration_plan",
    MetaData(),
    Column("ordinal", Integer),
    Column("id", String(36)),
    Column("hardware_key", String(520)),
    Column("pkid_key", String(64)),
    Column("model_name", String(256)),
    Column("manufacturer", String(256)),
    prefixes=["TEMPORARY"],
)
PLAN_COLUMNS = tuple(column.name for column in _PLAN.columns)
_PLAN_TABLE = _PLAN.name


def _insert_planned(
    conn: Connection, plan: list[tuple[Any, ...]], job: Row[Any], job_id: str, now: datetime
) -> int:
    """Insert the planned devices; unique keys decide races (ON CONFLICT DO NOTHING). The
    hash is not copied: a device reads it from its job item. Returns how many rows landed."""
    conn.execute(CreateTable(_PLAN, if_not_exists=True))
    conn.exec_driver_sql(f"DELETE FROM {_PLAN_TABLE}")
    insert_rows(conn, _PLAN, PLAN_COLUMNS, plan)
    result = conn.execute(
        text(
            f"INSERT INTO devices (id, customer_id, batch_pk, serial_number, product_key, "
            f"model_name, manufacturer, hardware_key, pkid_key, job_id, job_ordinal, "
            f"uploaded_at) "
            f"SELECT p.id, :customer_id, :batch_pk, i.serial_number, i.product_key, "
            f"p.model_name, p.manufacturer, p.hardware_key, p.pkid_key, :job_id, p.ordinal, "
            f":uploaded_at "
            f"FROM {_PLAN_TABLE} p "
            f"JOIN job_items i ON i.job_id = :job_id AND i.ordinal = p.ordinal "
            # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT to parse it.
            f"WHERE true ORDER BY p.ordinal ON CONFLICT DO NOTHING"
        ),
        {
            "customer_id": job.customer_id,
            "batch_pk": job.batch_pk,
            "job_id": job_id,
            "uploaded_at": db_time(conn, now),
        },
    )
    return int(result.rowcount)


def _existing_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in _slices(ids):
        found.update(conn.execute(select(devices.c.id).where(devices.c.id.in_(part))).scalars())
    return found


def _owners_by_key(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Identity key -> customer id of the device that holds it."""
    hardware_keys = [r["hardware_key"] for r in rows if r["hardware_key"]]
    pkids = [r["pkid_key"] for r in rows if r["pkid_key"]]
    owners: dict[str, str] = {}
    for column, keys in ((devices.c.hardware_key, hardware_keys), (devices.c.pkid_key, pkids)):
        for part in _slices(keys):
            query = select(column, devices.c.customer_id).where(or_(column.in_(part)))
            owners.update({key: customer for key, customer in conn.execute(query)})
    return owners


def _slices(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start : start + IN_LIST_SIZE]
