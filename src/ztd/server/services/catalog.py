"""Reading and deleting what was registered: batches (E3), devices (E4), device delete (E5)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select

from ztd.server.clock import wire_time
from ztd.server.errors import bad_request, not_found, shown
from ztd.server.services.paging import decode_token, encode_token, seek_collection
from ztd.server.storage import hash_codec
from ztd.server.storage.schema import device_batches, devices, job_items, partners
from ztd.wire.paths import path_segment

ALLOWED_OPERATIONS = ["GET", "DELETE"]


def partner_name(conn: Connection, partner_id: str) -> str:
    name = conn.execute(select(partners.c.name).where(partners.c.id == partner_id)).scalar()
    return name or partner_id


def list_batches(conn: Connection, customer_id: str) -> dict[str, Any]:
    counts = (
        select(devices.c.batch_pk, func.count().label("n"))
        .where(devices.c.customer_id == customer_id)
        .group_by(devices.c.batch_pk)
        .subquery()
    )
    rows = conn.execute(
        select(device_batches, func.coalesce(counts.c.n, 0).label("devices_count"))
        .outerjoin(counts, counts.c.batch_pk == device_batches.c.pk)
        .where(device_batches.c.customer_id == customer_id)
        .order_by(device_batches.c.pk)
    ).all()
    items = [
        {
            "id": row.batch_id,
            "createdBy": row.created_by,
            "creationDate": wire_time(row.created_at),
            "devicesCount": row.devices_count,
            "devicesLink": {
                "uri": _devices_uri(customer_id, row.batch_id),
                "method": "GET",
                "headers": [],
            },
            "attributes": {"objectType": "DeviceBatch"},
        }
        for row in rows
    ]
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


def list_devices(
    conn: Connection, customer_id: str, batch_id: str, token: str | None, page_size: int
) -> dict[str, Any]:
    batch_pk = _batch_pk(conn, customer_id, batch_id)
    after = _position(token) if token else 0
    item = job_items.alias("item")
    rows = conn.execute(
        select(
            devices,
            item.c.hash_blob.label("item_hash_blob"),
            item.c.hash_length.label("item_hash_length"),
            item.c.hardware_hash.label("item_hardware_hash"),
        )
        .outerjoin(
            item,
            and_(item.c.job_id == devices.c.job_id, item.c.ordinal == devices.c.job_ordinal),
        )
        .where(devices.c.batch_pk == batch_pk, devices.c.pk > after)
        .order_by(devices.c.pk)
        .limit(page_size + 1)
    ).all()
    total = conn.execute(
        select(func.count()).select_from(devices).where(devices.c.batch_pk == batch_pk)
    ).scalar_one()
    more = len(rows) > page_size
    return seek_collection(
        [_device(row) for row in rows[:page_size]],
        total,
        encode_token("d", rows[page_size - 1].pk) if more else None,
        _devices_uri(customer_id, batch_id),
    )


def _devices_uri(customer_id: str, batch_id: str) -> str:
    # Relative, without /v1, as Partner Center writes it; the batch id percent-encoded, so
    # that "a b", "a?b#c" or "50%" lead back to their batch when followed.
    return f"/customers/{path_segment(customer_id)}/deviceBatches/{path_segment(batch_id)}/devices"


def delete_device(conn: Connection, customer_id: str, batch_id: str, device_id: str) -> None:
    batch_pk = _batch_pk(conn, customer_id, batch_id)
    result = conn.execute(
        delete(devices).where(
            devices.c.batch_pk == batch_pk, devices.c.id == device_id.strip().lower()
        )
    )
    if result.rowcount == 0:
        raise not_found(f"Device {shown(device_id)} was not found in batch {shown(batch_id)}.")


def _batch_pk(conn: Connection, customer_id: str, batch_id: str) -> int:
    pk = conn.execute(
        select(device_batches.c.pk).where(
            device_batches.c.customer_id == customer_id,
            device_batches.c.batch_key == batch_id.casefold(),
        )
    ).scalar_one_or_none()
    if pk is None:
        raise not_found(f"Device batch {shown(batch_id)} was not found for this customer.")
    return int(pk)


def _device(row: Any) -> dict[str, Any]:
    device: dict[str, Any] = {"id": row.id}
    for key, value in (
        ("serialNumber", row.serial_number),
        ("productKey", row.product_key),
        ("hardwareHash", _hash_of(row)),
        ("modelName", row.model_name),
        ("oemManufacturerName", row.manufacturer),
    ):
        if value is not None:
            device[key] = value
    device["policies"] = [{"key": "o_o_b_e", "value": row.policy_id}] if row.policy_id else []
    device["uploadedDate"] = wire_time(row.uploaded_at)
    device["allowedOperations"] = ALLOWED_OPERATIONS
    device["attributes"] = {"objectType": "Device"}
    return device


def _hash_of(row: Any) -> str | None:
    """The hash as uploaded: from the device's job item, or (rows registered before
    migration 0006) from the device row itself."""
    if row.job_ordinal is not None:
        return hash_codec.unpack(row.item_hash_blob, row.item_hash_length, row.item_hardware_hash)
    return hash_codec.unpack(row.hash_blob, row.hash_length, row.hardware_hash)


def _position(token: str) -> int:
    position = decode_token(token, "d")
    if not re.fullmatch(r"[0-9]{1,18}", position):  # a row number that fits a BIGINT
        raise bad_request(f"The continuation token {shown(token)} is not valid.")
    return int(position)
