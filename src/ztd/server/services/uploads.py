"""Accepting device uploads (E1 create batch, E2 add devices): validate, then enqueue one job.

The batch row (for E1), the job, its chunks and its items commit in one transaction, so a
202 always names a job whose data exists, and a failure leaves nothing behind. The devices'
identities are worked out inside that transaction a slice at a time (DevicePreparer), while
SQLite inserts the slice before on a second core (storage.bulk.BackgroundInserts).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from ztd.identity import dds
from ztd.identity.device import FirstCopies, identity_of
from ztd.server.errors import conflict, not_found, shown
from ztd.server.jobs.enqueue import JobItem
from ztd.server.storage import hash_codec
from ztd.server.storage.ids import new_ids
from ztd.server.storage.schema import device_batches
from ztd.server.webhooks import events as webhook_events

# Items checked per slice of the enqueue pipeline: small enough that the insert of the last
# slice, the one nothing overlaps, is short; large enough that each insert amortises its
# statement and thread hand-off.
PREPARE_SLICE = 1000


class UploadedDevice(NamedTuple):
    """The identifier properties of an uploaded device (a wire ``Device`` minus the junk).
    A plain tuple: building 10,000 pydantic models costs more than parsing the JSON."""

    serial_number: str | None = None
    product_key: str | None = None
    hardware_hash: str | None = None
    model_name: str | None = None
    oem_manufacturer_name: str | None = None
    policy_ref: str | None = None  # the OOBE policy of its ``policies``, assigned once registered


class DevicePreparer:
    """Resolves each device's identity (pure CPU work) a slice at a time, so the enqueue can
    insert one slice while the next is checked. Remembers what it saw: the first copy of a
    device in one job is processed, later copies are duplicates."""

    def __init__(self) -> None:
        self.copies: FirstCopies[None] = FirstCopies()

    def prepare(self, devices: Sequence[UploadedDevice]) -> list[JobItem]:
        rows: list[JobItem] = []
        copies = self.copies
        device_ids = iter(new_ids(len(devices)))
        for device in devices:
            # Without warnings: nobody reads them here (`ztd csv check` shows them).
            identity = identity_of(device, with_warnings=False)
            error = identity.error
            if error is None and copies.earlier(identity, None) is not None:
                error = dds.DEVICE_DUPLICATED
            # A blank hash is no hash, to the identity rules and so to storage: the item must
            # read as hashless, or it would skip the OEM registry (strict mode's 812).
            sent_hash = device.hardware_hash
            stored = hash_codec.pack(sent_hash if sent_hash and not sent_hash.isspace() else None)
            # A hash-only device's status entry names the serial decoded from its hash, so
            # an 806/808 entry can be matched without counting positions (and the registry
            # lists the device by its serial, as Partner Center does).
            serial = device.serial_number or identity.serial_number
            rows.append(
                JobItem(
                    serial_number=serial,
                    product_key=device.product_key,
                    hash_blob=stored.blob,
                    hash_length=stored.length,
                    hardware_hash=stored.text,
                    model_name=device.model_name or identity.model,
                    manufacturer=device.oem_manufacturer_name or identity.manufacturer,
                    hardware_key=identity.hardware_key if error is None else None,
                    pkid_key=identity.pkid if error is None else None,
                    precheck_code=error.code if error else None,
                    precheck_name=error.name if error else None,
                    device_id=next(device_ids) if error is None else None,
                    policy_ref=device.policy_ref if error is None else None,
                )
            )
        return rows


def prepare_devices(devices: Sequence[UploadedDevice]) -> list[JobItem]:
    """All of an upload's items at once."""
    return DevicePreparer().prepare(devices)


def prepared_slices(
    devices: Sequence[UploadedDevice], size: int = PREPARE_SLICE
) -> Iterator[list[JobItem]]:
    """An upload's items, ``size`` at a time, each checked when it is asked for."""
    preparer = DevicePreparer()
    for first in range(0, len(devices), size):
        yield preparer.prepare(devices[first : first + size])


def create_batch(
    conn: Connection,
    *,
    customer_id: str,
    batch_id: str,
    created_by: str,
    now: datetime,
    partner_id: str | None = None,
) -> int:
    """Insert a new batch and return its key; 409 when the customer already has one by that
    name (names match ignoring case, as PowerShell compares them)."""
    if find_batch(conn, customer_id, batch_id) is not None:
        raise _batch_exists(batch_id)
    webhook_events.batch_created(conn, partner_id, customer_id, batch_id, now)
    try:
        with conn.begin_nested():
            return int(
                conn.execute(
                    insert(device_batches)
                    .values(
                        customer_id=customer_id,
                        batch_id=batch_id,
                        batch_key=batch_id.casefold(),
                        created_by=created_by,
                        created_at=now,
                    )
                    .returning(device_batches.c.pk)
                ).scalar_one()
            )
    except IntegrityError as exc:  # a concurrent create of the same batch won the race
        raise _batch_exists(batch_id) from exc


def existing_batch(conn: Connection, customer_id: str, batch_id: str) -> int:
    batch_pk = find_batch(conn, customer_id, batch_id)
    if batch_pk is None:
        raise not_found(f"Device batch {shown(batch_id)} was not found for this customer.")
    return batch_pk


def find_batch(conn: Connection, customer_id: str, batch_id: str) -> int | None:
    return conn.execute(
        select(device_batches.c.pk).where(
            device_batches.c.customer_id == customer_id,
            device_batches.c.batch_key == batch_id.casefold(),
        )
    ).scalar_one_or_none()


def _batch_exists(batch_id: str) -> Exception:
    return conflict(
        f"Device batch {shown(batch_id)} already exists for this customer; add devices to it with "
        f"POST .../deviceBatches/{{batch-id}}/devices instead."
    )
