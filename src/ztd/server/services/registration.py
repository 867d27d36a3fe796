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

from sqlalchemy import Connection, Row, or_, select

from ztd.identity import dds
from ztd.server.jobs.documents import ItemOutcome
from ztd.server.jobs.leases import Lease
from ztd.server.services import oem_registry
from ztd.server.settings import RegistrationMode
from ztd.server.storage.bulk import db_time, insert_rows
from ztd.server.storage.ids import new_ids
from ztd.server.storage.schema import devices, job_items

DEVICE_COLUMNS = (
    "id",
    "customer_id",
    "batch_pk",
    "serial_number",
    "product_key",
    "hash_blob",
    "hash_length",
    "hardware_hash",
    "model_name",
    "manufacturer",
    "hardware_key",
    "pkid_key",
    "job_id",
    "uploaded_at",
)

# Bound-parameter lists stay well under SQLite's and PostgreSQL's limits.
IN_LIST_SIZE = 500


def register_chunk(
    conn: Connection,
    lease: Lease,
    job: Row[Any],
    now: datetime,
    mode: RegistrationMode = RegistrationMode.OPEN,
) -> list[ItemOutcome]:
    items = conn.execute(
        select(job_items)
        .where(
            job_items.c.job_id == lease.job_id,
            job_items.c.ordinal >= lease.first_ordinal,
            job_items.c.ordinal < lease.end_ordinal,
        )
        .order_by(job_items.c.ordinal)
    ).all()
    unhashed = [i for i in items if not i.precheck_name and not _has_hash(i)]
    by_pkid, by_key = oem_registry.resolve(
        conn,
        [i.pkid_key for i in unhashed if i.pkid_key],
        [i.hardware_key for i in unhashed if i.hardware_key],
    )
    outcomes: list[ItemOutcome] = []
    new_rows: list[tuple[Any, ...]] = []
    uploaded_at = db_time(conn, now)
    fresh_ids = iter(new_ids(len(items)))
    for item in items:
        if item.precheck_name:
            outcomes.append([None, item.precheck_code, item.precheck_name])
            continue
        oem = None
        if not _has_hash(item):
            oem = by_pkid.get(item.pkid_key or "") or by_key.get(item.hardware_key or "")
            if oem is None and mode is RegistrationMode.STRICT:
                error = dds.DEVICE_NOT_FOUND
                outcomes.append([None, error.code, error.name])
                continue
        device_id = next(fresh_ids)
        outcomes.append([device_id, None, None])
        new_rows.append(
            (
                device_id,
                job.customer_id,
                job.batch_pk,
                item.serial_number,
                item.product_key,
                item.hash_blob,
                item.hash_length,
                item.hardware_hash,
                # An OEM record gives a hashless upload the machine's full identity.
                item.model_name or (oem.model_name if oem else None),
                item.manufacturer or (oem.manufacturer if oem else None),
                oem.hardware_key if oem else item.hardware_key,
                (oem.pkid_key if oem else None) or item.pkid_key,
                lease.job_id,
                uploaded_at,
            )
        )
    if not new_rows:
        return outcomes

    inserted_count = insert_rows(conn, devices, DEVICE_COLUMNS, new_rows, ignore_conflicts=True)
    if inserted_count == len(new_rows):
        return outcomes  # no conflict at all: the common case needs no further query
    inserted = _existing_ids(conn, [row[0] for row in new_rows])
    refused = [
        dict(zip(DEVICE_COLUMNS, row, strict=True)) for row in new_rows if row[0] not in inserted
    ]
    if refused:
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


def _has_hash(item: Row[Any]) -> bool:
    return item.hash_blob is not None or item.hardware_hash is not None


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
