"""What was registered: batches (E3), devices (E4), one device (GET, its policy by PUT or
PATCH as the SDK's IDevice.Patch sends it, E5 delete)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from ztd.server.clock import wire_time
from ztd.server.errors import InvalidRequest, NotFound, shown
from ztd.server.services.device_search import DeviceFilter
from ztd.server.services.paging import decode_token, encode_token, seek_collection
from ztd.server.storage import hash_codec
from ztd.server.storage.ids import maybe_guid
from ztd.server.storage.schema import batch_jobs, device_batches, devices, job_items, partners
from ztd.wire import PolicyCategory
from ztd.wire.paths import resource_path

# What works on a device (its links.self): read it, change its policies, delete it.
ALLOWED_OPERATIONS = ["GET", "PATCH", "DELETE"]
# A batch whose jobs are all gone (purged) was processed long ago.
_SETTLED = "finished"


def partner_name(conn: Connection, partner_id: str) -> str:
    name = conn.execute(select(partners.c.name).where(partners.c.id == partner_id)).scalar()
    return name or partner_id


def list_batches(conn: Connection, customer_id: str, batch_id: str | None = None) -> dict[str, Any]:
    """E3; with ``batch_id``, a collection of that batch alone (empty when it is unknown)."""
    # Counted batch by batch through the (batch_pk, pk) index: a count filtered on
    # devices.customer_id, which no index leads with, read every device of the registry.
    devices_count = (
        select(func.count())
        .select_from(devices)
        .where(devices.c.batch_pk == device_batches.c.pk)
        .scalar_subquery()
    )
    query = (
        select(device_batches, devices_count.label("devices_count"))
        .where(device_batches.c.customer_id == customer_id)
        .order_by(device_batches.c.pk)
    )
    if batch_id is not None:
        query = query.where(device_batches.c.batch_key == batch_id.casefold())
    rows = conn.execute(query).all()
    statuses = _batch_statuses(conn, customer_id)
    items = [
        {
            "id": row.batch_id,
            "createdBy": row.created_by,
            "creationDate": wire_time(row.created_at),
            "devicesCount": row.devices_count,
            "status": statuses.get(row.pk, _SETTLED),
            "devicesLink": {
                "uri": _devices_uri(customer_id, row.batch_id),
                "method": "GET",
                "headers": [],
            },
            "links": {"self": _link(_batch_uri(customer_id, row.batch_id))},
            "attributes": {"objectType": "DeviceBatch"},
        }
        for row in rows
    ]
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


def get_batch(conn: Connection, customer_id: str, batch_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = list_batches(conn, customer_id, batch_id)["items"]
    if not found:
        raise NotFound(f"Device batch {batch_id!r} was not found for this customer.")
    return found[0]


def _batch_statuses(conn: Connection, customer_id: str) -> dict[int, str]:
    """Batch key -> the status of its latest upload (queued, processing or finished)."""
    rows = conn.execute(
        select(batch_jobs.c.batch_pk, batch_jobs.c.status)
        .where(batch_jobs.c.customer_id == customer_id, batch_jobs.c.batch_pk.is_not(None))
        .order_by(batch_jobs.c.created_at)
    )
    # finished_with_errors (ZTD_BATCH_STATUS_WITH_ERRORS) is a finished upload, to a batch.
    return {pk: _SETTLED if status.startswith(_SETTLED) else status for pk, status in rows}


def list_devices(
    conn: Connection,
    customer_id: str,
    batch_id: str,
    token: str | None,
    page_size: int,
    *,
    with_hash: bool = False,
    only: DeviceFilter | None = None,
) -> dict[str, Any]:
    """E4: a page of the batch's devices in registration order; with ``only`` (the ztd
    ``search``/``policy`` extension) the matching ones, and ``totalCount`` counts matches.
    NotFound when the batch is not this customer's."""
    batch_pk = existing_batch(conn, customer_id, batch_id)
    after = _position(token) if token else 0
    in_batch = devices.c.batch_pk == batch_pk
    condition = only.condition() if only is not None else None
    if condition is not None:
        in_batch = and_(in_batch, condition)
    query = _device_query(with_hash).where(in_batch, devices.c.pk > after)
    rows = conn.execute(query.order_by(devices.c.pk).limit(page_size + 1)).all()
    total = conn.execute(select(func.count()).select_from(devices).where(in_batch)).scalar_one()
    more = len(rows) > page_size
    page = rows[:page_size]
    uploaders = _uploaders(conn, {row.job_id for row in page})
    # The next page's link keeps the filter: following it goes on with the same search.
    filtered = only.query() if only is not None else {}
    return seek_collection(
        [_device(row, (customer_id, batch_id), uploaders, with_hash) for row in page],
        total,
        encode_token("d", rows[page_size - 1].pk) if more else None,
        _devices_uri(customer_id, batch_id, filtered),
    )


def get_device(
    conn: Connection, customer_id: str, batch_id: str, device_id: str, *, with_hash: bool = True
) -> dict[str, Any]:
    """One device of the batch (its links.self); 404 when the batch or device is unknown."""
    row = _device_row(conn, customer_id, batch_id, device_id, with_hash)
    return _device(row, (customer_id, batch_id), _uploaders(conn, {row.job_id}), with_hash)


def set_device_policy(
    conn: Connection, customer_id: str, batch_id: str, device_id: str, policy_id: str | None
) -> None:
    """Assign ``policy_id`` (None: no policy) to the device; 404 when it is unknown."""
    row = _device_row(conn, customer_id, batch_id, device_id, with_hash=False)
    conn.execute(update(devices).where(devices.c.pk == row.pk).values(policy_id=policy_id))


def _batch_uri(customer_id: str, batch_id: str) -> str:
    # Relative, without /v1, as Partner Center writes it; the batch id percent-encoded, so
    # that "a b", "a?b#c" or "50%" lead back to their batch when followed.
    return resource_path("customers", customer_id, "deviceBatches", batch_id)


def _devices_uri(customer_id: str, batch_id: str, query: dict[str, str] | None = None) -> str:
    return resource_path(
        "customers", customer_id, "deviceBatches", batch_id, "devices", query=query
    )


def _device_uri(customer_id: str, batch_id: str, device_id: str) -> str:
    return resource_path("customers", customer_id, "deviceBatches", batch_id, "devices", device_id)


def delete_device(conn: Connection, customer_id: str, batch_id: str, device_id: str) -> None:
    batch_pk = existing_batch(conn, customer_id, batch_id)
    result = conn.execute(
        delete(devices).where(
            devices.c.batch_pk == batch_pk, devices.c.id == device_id.strip().lower()
        )
    )
    if result.rowcount == 0:
        raise NotFound(f"Device {shown(device_id)} was not found in batch {shown(batch_id)}.")


def _device_row(
    conn: Connection, customer_id: str, batch_id: str, device_id: str, with_hash: bool
) -> Any:
    batch_pk = existing_batch(conn, customer_id, batch_id)
    guid = maybe_guid(device_id.strip())
    row = None
    if guid is not None:
        query = _device_query(with_hash).where(devices.c.batch_pk == batch_pk, devices.c.id == guid)
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"Device {shown(device_id)} was not found in batch {shown(batch_id)}.")
    return row


_OWN_HASH_COLUMNS = ("hash_blob", "hash_length", "hardware_hash")


def _device_query(with_hash: bool) -> Any:
    """Devices, with their hash as uploaded (from their job item) only when asked: it is
    about 4 KB a device, and listing them all is the common read."""
    if not with_hash:
        # A device whose job was purged holds its own hash (~1.5 KB): left unread, a page
        # of such devices costs what a page of fresh ones does.
        return select(*(c for c in devices.c if c.name not in _OWN_HASH_COLUMNS))
    item = job_items.alias("item")
    return select(
        devices,
        item.c.hash_blob.label("item_hash_blob"),
        item.c.hash_length.label("item_hash_length"),
        item.c.hardware_hash.label("item_hardware_hash"),
    ).outerjoin(
        item, and_(item.c.job_id == devices.c.job_id, item.c.ordinal == devices.c.job_ordinal)
    )


def _uploaders(conn: Connection, job_ids: set[str]) -> dict[str, str]:
    """Job id -> the name of the partner whose upload registered the device."""
    if not job_ids:
        return {}
    rows = conn.execute(
        select(batch_jobs.c.id, partners.c.name)
        .join(partners, partners.c.id == batch_jobs.c.partner_id)
        .where(batch_jobs.c.id.in_(sorted(job_ids)))
    )
    return {job_id: name for job_id, name in rows}


def find_batch(conn: Connection, customer_id: str, batch_id: str) -> int | None:
    """The key of the customer's batch named ``batch_id`` (ignoring case), or None."""
    pk = conn.execute(
        select(device_batches.c.pk).where(
            device_batches.c.customer_id == customer_id,
            device_batches.c.batch_key == batch_id.casefold(),
        )
    ).scalar_one_or_none()
    return None if pk is None else int(pk)


def existing_batch(conn: Connection, customer_id: str, batch_id: str) -> int:
    """The key of the customer's batch named ``batch_id``; NotFound when there is none."""
    pk = find_batch(conn, customer_id, batch_id)
    if pk is None:
        raise NotFound(f"Device batch {shown(batch_id)} was not found for this customer.")
    return pk


def _device(
    row: Any, batch: tuple[str, str], uploaders: dict[str, str], with_hash: bool
) -> dict[str, Any]:
    """The Device document; ``batch``: (customer id, batch id as named) for its link."""
    device: dict[str, Any] = {"id": row.id}
    for key, value in (
        ("serialNumber", row.serial_number),
        ("productKey", row.product_key),
        ("hardwareHash", _hash_of(row) if with_hash else None),
        ("modelName", row.model_name),
        ("oemManufacturerName", row.manufacturer),
    ):
        if value is not None:
            device[key] = value
    # Partner Center always lists the OOBE entry, without a value when no policy is
    # assigned (client code reads Policies[0]).
    oobe: dict[str, Any] = {"key": PolicyCategory.OOBE.value}
    if row.policy_id:
        oobe["value"] = row.policy_id
    device["policies"] = [oobe]
    device["uploadedDate"] = wire_time(row.uploaded_at)
    uploader = uploaders.get(row.job_id)
    if uploader is not None:  # (the job may have been purged since)
        device["uploadedBy"] = uploader
    device["allowedOperations"] = ALLOWED_OPERATIONS
    device["links"] = {"self": _link(_device_uri(*batch, row.id))}
    device["attributes"] = {"objectType": "Device"}
    return device


def _link(uri: str) -> dict[str, Any]:
    return {"uri": uri, "method": "GET", "headers": []}


def _hash_of(row: Any) -> str | None:
    """The hash as uploaded: from the device's job item, or (once its job was purged) from
    the device row itself."""
    if row.job_ordinal is not None:
        return hash_codec.unpack(row.item_hash_blob, row.item_hash_length, row.item_hardware_hash)
    return hash_codec.unpack(row.hash_blob, row.hash_length, row.hardware_hash)


def _position(token: str) -> int:
    position = decode_token(token, "d")
    if not re.fullmatch(r"[0-9]{1,18}", position):  # a row number that fits a BIGINT
        raise InvalidRequest(f"The continuation token {shown(token)} is not valid.")
    return int(position)
