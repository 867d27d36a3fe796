"""Registering uploaded devices in the registry (the ``upload`` job kind's work).

Race safety comes from the database: devices are inserted with ON CONFLICT DO NOTHING against
the unique identity keys, so of two jobs registering one device concurrently exactly one
insert lands; the other finds the owner afterwards and reports 806 or 808.

A chunk registers with one ``INSERT ... SELECT`` from its job items: each item that passed the
prechecks got its device id at enqueue, and the hash is not copied (a device reads it from its
item). When as many rows land as the chunk expected, the part of the status document it got
at enqueue holds (``AS_PLANNED``) and nothing else is read; otherwise its items are read once
and turned into outcomes, and only hashless and refused devices need more. Which refusal a
taken identity gets (806 or 808) is ``ztd.identity.ownership``'s pure rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, literal, select, update

from ztd.identity import dds
from ztd.identity.ownership import Holder, Refusal, taken_identity_refusal
from ztd.server.jobs.contract import AS_PLANNED, ChunkContext, ChunkResult, WorkedOut
from ztd.server.jobs.documents import ItemOutcome, planned_outcome
from ztd.server.services import oem_registry
from ztd.server.services.policy_updates import assign_registered
from ztd.server.settings import RegistrationMode
from ztd.server.storage.bulk import dialect_insert
from ztd.server.storage.in_lists import in_slices
from ztd.server.storage.schema import devices, job_items

Refusals = dict[int, Refusal]  # item ordinal -> why its device was not registered


def register_chunk(
    ctx: ChunkContext, mode: RegistrationMode = RegistrationMode.OPEN
) -> ChunkResult:
    """Register the chunk's devices. AS_PLANNED when every expected device landed, so the
    part the chunk got at enqueue holds; else its items and their outcomes."""
    hints: dict[int, str] = {}
    refused: Refusals = {}
    if ctx.chunk.expected_inserts is not None:  # no hashless device: straight to the insert
        inserted = _insert_devices(ctx)
        if inserted == ctx.chunk.expected_inserts:
            return AS_PLANNED
        rows = ctx.items()
    else:  # hashless devices, or devices sent with a policy
        rows = ctx.items()
        hashless = [row.ordinal for row in rows if row.device_id and not row.has_hash]
        if hashless:
            refused = _resolve_hashless(ctx, hashless, mode, hints)
        inserted = _insert_devices(ctx)
    first = ctx.chunk.first_ordinal
    outcomes = [planned_outcome(r) for r in rows]
    planned = sum(1 for row in rows if row.device_id is not None) - len(refused)
    if inserted < planned:  # some identity keys were already taken
        refused |= _conflicts(ctx)
    for ordinal, refusal in refused.items():
        outcome: ItemOutcome = [refusal.device_id, refusal.error.code, refusal.error.name]
        if ordinal in hints:
            outcome.append(hints[ordinal])
        outcomes[ordinal - first] = outcome
    wanted = [
        (row.ordinal, row.device_id, row.policy_ref)
        for row in rows
        if row.policy_ref and row.device_id and row.ordinal not in refused
    ]
    if wanted:  # policies sent with the devices, as if a policy update followed
        for ordinal, error in assign_registered(ctx.conn, ctx.job.customer_id, wanted).items():
            device_id = outcomes[ordinal - first][0]
            outcomes[ordinal - first] = [device_id, error.code, error.name]
    return WorkedOut(rows, outcomes)


def _resolve_hashless(
    ctx: ChunkContext,
    ordinals: list[int],
    mode: RegistrationMode,
    hints: dict[int, str],
) -> Refusals:
    """Devices uploaded without a hash take their identity from the OEM registry when it has
    them, written to their item for registration to read: the record's manufacturer and
    model, never the upload's. In strict mode the ones it lacks are refused (812) and lose
    their device id, and so are tuples that match a record only ignoring letter case or
    look-alikes (812, with ``hints`` naming each difference)."""
    conn, job_id = ctx.conn, ctx.job.id
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
        ).where(item.job_id == job_id, item.ordinal.in_(part))
        hashless.extend(conn.execute(query).all())
    by_pkid, by_key = oem_registry.resolve(
        conn, [h[1] for h in hashless if h[1]], [h[2] for h in hashless if h[2]]
    )
    # Strict mode refuses a device nobody knows (812); one already registered is known
    # (its hash gave its keys), and its insert then conflicts: 806 or 808, as for a hash.
    registered: dict[str, Holder] = {}
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
                refused[ordinal] = Refusal(dds.DEVICE_NOT_FOUND, None)
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
            refused[ordinal] = Refusal(dds.DEVICE_NOT_FOUND, None)
    this_item = and_(job_items.c.job_id == job_id, job_items.c.ordinal == bindparam("n"))
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


def _insert_devices(ctx: ChunkContext) -> int:
    """Insert the chunk's devices; unique keys decide races (ON CONFLICT DO NOTHING). Returns
    how many rows landed."""
    conn, job, now = ctx.conn, ctx.job, ctx.now
    item = job_items.c
    rows = (
        select(
            item.device_id,
            literal(job.customer_id),
            literal(job.batch_pk, devices.c.batch_pk.type),
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
        .where(ctx.in_chunk(), item.device_id.is_not(None))
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


def _conflicts(ctx: ChunkContext) -> Refusals:
    """Items whose device did not land, each refused by the 806 / 808 rule against the
    device that holds its identity key."""
    missing = ctx.conn.execute(
        select(job_items.c.ordinal, job_items.c.hardware_key, job_items.c.pkid_key)
        .select_from(job_items.outerjoin(devices, devices.c.id == job_items.c.device_id))
        .where(ctx.in_chunk(), job_items.c.device_id.is_not(None), devices.c.id.is_(None))
    ).all()
    holders = _owners_by_key(
        ctx.conn, [row.hardware_key for row in missing], [row.pkid_key for row in missing]
    )
    return {
        ordinal: taken_identity_refusal(
            ctx.job.customer_id, holders.get(hardware_key) or holders.get(pkid_key)
        )
        for ordinal, hardware_key, pkid_key in missing
    }


def _owners_by_key(
    conn: Connection, hardware_keys: Sequence[str | None], pkids: Sequence[str | None]
) -> dict[str, Holder]:
    """Identity key -> the device that holds it."""
    holders: dict[str, Holder] = {}
    for column, keys in ((devices.c.hardware_key, hardware_keys), (devices.c.pkid_key, pkids)):
        for part in in_slices([key for key in keys if key]):
            query = select(column, devices.c.customer_id, devices.c.id).where(column.in_(part))
            holders.update(
                {key: Holder(customer, id_) for key, customer, id_ in conn.execute(query)}
            )
    return holders
