"""Registering uploaded devices in the registry: the 806 / 808 rules.

Race safety comes from the database: devices are inserted with ON CONFLICT DO NOTHING against
the unique identity keys, so of two jobs registering one device concurrently exactly one
insert lands; the other finds the owner afterwards and reports 806 or 808.

A chunk registers with one ``INSERT ... SELECT`` from its job items: each item that passed the
prechecks got its device id at enqueue, and the hash is not copied (a device reads it from its
item). When as many rows land as the chunk expected, the part of the status document it got
at enqueue holds and nothing else is read; otherwise its items are read once and turned into
outcomes, and only hashless and refused devices need more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, literal, select, update

from ztd.identity import dds
from ztd.server.jobs.documents import ItemOutcome, planned_outcome
from ztd.server.jobs.leases import ChunkRow, Lease, chunk_rows, in_chunk
from ztd.server.services import oem_registry
from ztd.server.services.policy_updates import assign_registered
from ztd.server.settings import RegistrationMode
from ztd.server.storage.bulk import dialect_insert
from ztd.server.storage.in_lists import in_slices
from ztd.server.storage.schema import devices, job_items

Refusals = dict[int, dds.DdsError]  # item ordinal -> why its device was not registered


def register_chunk(
    conn: Connection,
    lease: Lease,
    job: Row[Any],
    now: datetime,
    mode: RegistrationMode = RegistrationMode.OPEN,
) -> tuple[list[ChunkRow], list[ItemOutcome]] | None:
    """Register the chunk's devices. None when every expected device landed, so the part the
    chunk got at enqueue holds; else its items and their outcomes."""
    hints: dict[int, str] = {}
    if lease.expected_inserts is not None:  # no hashless device: straight to the insert
        inserted = _insert_devices(conn, lease, job, now)
        if inserted == lease.expected_inserts:
            return None
        rows = chunk_rows(conn, lease)
        refused: Refusals = {}
    else:  # hashless devices, or a chunk queued before parts were expected (0010)
        rows = chunk_rows(conn, lease)
        hashless = [row.ordinal for row in rows if row.device_id and not row.has_hash]
        refused = _resolve_hashless(conn, lease, hashless, mode, hints) if hashless else {}
        inserted = _insert_devices(conn, lease, job, now)
    outcomes = [planned_outcome(r.device_id, r.precheck_code, r.precheck_name) for r in rows]
    planned = sum(1 for row in rows if row.device_id is not None) - len(refused)
    existing: dict[int, str] = {}  # ordinal -> id of the device holding its identity
    if inserted < planned:  # some identity keys were already taken
        conflicts, existing = _conflicts(conn, lease, job)
        refused |= conflicts
    for ordinal, error in refused.items():
        outcome = refusal_outcome(error, existing.get(ordinal))
        if ordinal in hints:
            outcome.append(hints[ordinal])
        outcomes[ordinal - lease.first_ordinal] = outcome
    wanted = [
        (row.ordinal, row.device_id, row.policy_ref)
        for row in rows
        if row.policy_ref and row.device_id and row.ordinal not in refused
    ]
    if wanted:  # policies sent with the devices, as if a policy update followed
        for ordinal, error in assign_registered(conn, job.customer_id, wanted).items():
            device_id = outcomes[ordinal - lease.first_ordinal][0]
            outcomes[ordinal - lease.first_ordinal] = [device_id, error.code, error.name]
    return rows, outcomes


def refusal_outcome(error: dds.DdsError, existing_id: str | None) -> ItemOutcome:
    """A refused item's outcome. An 806 names the device already registered to this
    customer; an 808 names none (that device is another tenant's)."""
    device_id = existing_id if error is dds.DEVICE_ALREADY_ASSIGNED else None
    return [device_id, error.code, error.name]


def _resolve_hashless(
    conn: Connection,
    lease: Lease,
    ordinals: list[int],
    mode: RegistrationMode,
    hints: dict[int, str],
) -> Refusals:
    """Devices uploaded without a hash take their identity from the OEM registry when it has
    them, written to their item for registration to read: the record's manufacturer and
    model, never the upload's. In strict mode the ones it lacks are refused (812) and lose
    their device id, and so are tuples that match a record only ignoring letter case or
    look-alikes (812, with ``hints`` naming each difference)."""
    item = job_items.c
    hashless: list[Any] = []
    for part in in_slices(ordinals):
        query = select(
            item.ordinal,
            item.pkid_key,
            item.hardware_key,
            item.model_name,
            item.manufacturer,
            item.serial_number,
        ).where(item.job_id == lease.job_id, item.ordinal.in_(part))
        hashless.extend(conn.execute(query).all())
    by_pkid, by_key = oem_registry.resolve(
        conn, [h[1] for h in hashless if h[1]], [h[2] for h in hashless if h[2]]
    )
    # Strict mode refuses a device nobody knows (812); one already registered is known
    # (its hash gave its keys), and its insert then conflicts: 806 or 808, as for a hash.
    registered: dict[str, tuple[str, str]] = {}
    if mode is RegistrationMode.STRICT:
        unresolved = [
            h for h in hashless if not (by_pkid.get(h[1] or "") or by_key.get(h[2] or ""))
        ]
        registered = _owners_by_key(conn, [h[2] for h in unresolved], [h[1] for h in unresolved])
    identities: list[dict[str, Any]] = []
    refused: Refusals = {}
    for ordinal, pkid, key, model, manufacturer, serial in hashless:
        oem = by_pkid.get(pkid or "")
        if oem is None and key and key in by_key:
            oem = by_key[key]
            differences = oem_registry.tuple_differences(oem, serial, manufacturer, model)
            if differences and mode is RegistrationMode.STRICT:
                refused[ordinal] = dds.DEVICE_NOT_FOUND
                hints[ordinal] = "; ".join(differences)
                continue
        if oem is not None:
            identities.append(
                {
                    "n": ordinal,
                    "key": oem.hardware_key,
                    "pkid": oem.pkid_key or pkid,
                    "model": oem.model_name or model,
                    "maker": oem.manufacturer,
                }
            )
        elif mode is RegistrationMode.STRICT and not (
            registered.get(pkid or "") or registered.get(key or "")
        ):
            refused[ordinal] = dds.DEVICE_NOT_FOUND
    this_item = and_(job_items.c.job_id == lease.job_id, job_items.c.ordinal == bindparam("n"))
    if identities:
        conn.execute(
            update(job_items)
            .where(this_item)
            .values(
                hardware_key=bindparam("key"),
                pkid_key=bindparam("pkid"),
                model_name=bindparam("model"),
                manufacturer=bindparam("maker"),
            ),
            identities,
        )
    if refused:
        conn.execute(
            update(job_items).where(this_item).values(device_id=None),
            [{"n": ordinal} for ordinal in refused],
        )
    return refused


def _insert_devices(conn: Connection, lease: Lease, job: Row[Any], now: datetime) -> int:
    """Insert the chunk's devices; unique keys decide races (ON CONFLICT DO NOTHING). Returns
    how many rows landed."""
    item = job_items.c
    rows = (
        select(
            item.device_id,
            literal(job.customer_id),
            literal(job.batch_pk),
            item.serial_number,
            item.product_key,
            item.model_name,
            item.manufacturer,
            item.hardware_key,
            item.pkid_key,
            item.job_id,
            item.ordinal,
            literal(now, devices.c.uploaded_at.type),
        )
        .where(in_chunk(lease), item.device_id.is_not(None))
        .order_by(item.ordinal)
    )
    statement = dialect_insert(conn, devices).from_select(_DEVICE_COLUMNS, rows)
    # SQLAlchemy keeps an INSERT's rowcount only when asked (PostgreSQL gave -1 otherwise).
    statement = statement.on_conflict_do_nothing().execution_options(preserve_rowcount=True)
    return int(conn.execute(statement).rowcount)


_DEVICE_COLUMNS = (
    "id",
    "customer_id",
    "batch_pk",
    "serial_number",
    "product_key",
    "model_name",
    "manufacturer",
    "hardware_key",
    "pkid_key",
    "job_id",
    "job_ordinal",
    "uploaded_at",
)


def _conflicts(conn: Connection, lease: Lease, job: Row[Any]) -> tuple[Refusals, dict[int, str]]:
    """Items whose device did not land, each with 806 (this customer holds the device) or 808
    (another tenant does); and for the 806 ones, the id of the device already registered."""
    missing = conn.execute(
        select(job_items.c.ordinal, job_items.c.hardware_key, job_items.c.pkid_key)
        .select_from(job_items.outerjoin(devices, devices.c.id == job_items.c.device_id))
        .where(in_chunk(lease), job_items.c.device_id.is_not(None), devices.c.id.is_(None))
    ).all()
    owners = _owners_by_key(
        conn, [row.hardware_key for row in missing], [row.pkid_key for row in missing]
    )
    refused: Refusals = {}
    existing: dict[int, str] = {}
    for ordinal, hardware_key, pkid_key in missing:
        owner = owners.get(hardware_key) or owners.get(pkid_key)
        if owner is None:  # the conflicting device vanished meanwhile (deleted)
            refused[ordinal] = dds.STORAGE_ERROR
        elif owner[0] == job.customer_id:
            refused[ordinal] = dds.DEVICE_ALREADY_ASSIGNED
            existing[ordinal] = owner[1]
        else:
            refused[ordinal] = dds.DEVICE_ASSIGNED_TO_OTHER_TENANT
    return refused, existing


def _owners_by_key(
    conn: Connection, hardware_keys: Sequence[str | None], pkids: Sequence[str | None]
) -> dict[str, tuple[str, str]]:
    """Identity key -> (customer id, device id) of the device that holds it."""
    owners: dict[str, tuple[str, str]] = {}
    for column, keys in ((devices.c.hardware_key, hardware_keys), (devices.c.pkid_key, pkids)):
        for part in in_slices([key for key in keys if key]):
            query = select(column, devices.c.customer_id, devices.c.id).where(column.in_(part))
            owners.update({key: (customer, id_) for key, customer, id_ in conn.execute(query)})
    return owners
