"""Accepting device uploads (E1 create batch, E2 add devices): the upload's intake for
jobs/submit.py, which enqueues it in one transaction.

The batch row (for E1), the job, its chunks and its items commit together, so a 202 always
names a job whose data exists, and a failure leaves nothing behind. ``UploadIntake`` says
where the job's batch comes from and how a slice of devices becomes job items
(DevicePreparer); submit_job decides when each slice is worked out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from ztd.identity import dds
from ztd.identity.device import FirstCopies, identity_of
from ztd.identity.hash_text import canonical_text
from ztd.server.errors import Conflict, cut, shown
from ztd.server.jobs.enqueue import JobItem
from ztd.server.services.catalog import existing_batch, find_batch, partner_name
from ztd.server.storage import hash_codec
from ztd.server.storage.ids import new_ids
from ztd.server.storage.schema import device_batches
from ztd.server.webhooks import events as webhook_events

# Items checked per slice of the enqueue pipeline: small enough that the insert of the last
# slice, the one nothing overlaps, is short; large enough that each insert amortises its
# statement and thread hand-off.
PREPARE_SLICE = 1000
# The longest reason kept for a refused device (the validator's are far shorter; a bound
# all the same, since some quote the device's own values).
MAX_DETAIL = 1000


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
        self.copies: FirstCopies[int] = FirstCopies()
        self.seen = 0  # devices prepared so far: the next one's index in the request

    def prepare(self, devices: Sequence[UploadedDevice]) -> list[JobItem]:
        rows: list[JobItem] = []
        copies = self.copies
        device_ids = iter(new_ids(len(devices)))
        for index, device in enumerate(devices, start=self.seen):
            # Without warnings: nobody reads them here (`ztd csv check` shows them).
            identity = identity_of(device, with_warnings=False)
            error, detail = identity.error, identity.detail
            earlier = copies.earlier(identity, index) if error is None else None
            if earlier is not None:
                error, detail = dds.DEVICE_DUPLICATED, _duplicate_detail(*earlier)
            # Stored in its canonical text (no whitespace), so a hash sent wrapped or with
            # spaces reads back as the one it is. A blank hash is no hash, to the identity
            # rules and so to storage: the item must read as hashless, or it would skip the
            # OEM registry (strict mode's 812).
            sent_hash = device.hardware_hash
            stored = hash_codec.pack((canonical_text(sent_hash) or None) if sent_hash else None)
            # A hash-only device's status entry names the serial decoded from its hash, so
            # an 806/808 entry can be matched without counting positions (and the registry
            # lists the device by its serial, as Partner Center does).
            serial = device.serial_number or identity.serial_number
            # Likewise its product key id, when the hash carries one (OEM machines do; VMs
            # and white boxes do not). A device sent with a serial echoes what was sent, as in
            # the seed's example.
            product_key = device.product_key or (
                identity.pkid if device.serial_number is None else None
            )
            rows.append(
                JobItem(
                    serial_number=serial,
                    product_key=product_key,
                    hash_blob=stored.blob,
                    hash_length=stored.length,
                    hardware_hash=stored.text,
                    model_name=device.model_name or identity.model,
                    manufacturer=device.oem_manufacturer_name or identity.manufacturer,
                    hardware_key=identity.hardware_key if error is None else None,
                    pkid_key=identity.pkid if error is None else None,
                    precheck_code=error.code if error else None,
                    precheck_name=error.name if error else None,
                    precheck_detail=cut(detail, MAX_DETAIL) if error and detail else None,
                    device_id=next(device_ids) if error is None else None,
                    policy_ref=device.policy_ref if error is None else None,
                )
            )
        self.seen += len(devices)
        return rows


def _duplicate_detail(shared: str, first: int) -> str:
    what = "manufacturer and serial number" if shared == "hardware_key" else "product key id"
    return (
        f"the same device as devices[{first}] of this upload (same {what}); only the first "
        "copy is registered"
    )


def prepare_devices(devices: Sequence[UploadedDevice]) -> list[JobItem]:
    """All of an upload's items at once."""
    return DevicePreparer().prepare(devices)


class NewBatch(NamedTuple):
    """E1: the job creates the customer's batch ``batch_id``, uploaded by ``created_by``."""

    batch_id: str
    created_by_partner: str  # the partner whose name the batch records as its creator


class ExistingBatch(NamedTuple):
    """E2: the job adds to the customer's batch ``batch_id``."""

    batch_id: str


class UploadIntake:
    """An upload's job, as jobs/submit.py consumes it: ``total`` devices of
    ``customer_id`` for ``target``, worked out ``slice_size`` at a time."""

    kind = "upload"

    def __init__(
        self,
        customer_id: str,
        target: NewBatch | ExistingBatch,
        devices: Sequence[UploadedDevice],
        slice_size: int = PREPARE_SLICE,
    ) -> None:
        self.customer_id, self.target, self.devices = customer_id, target, devices
        self.total, self.slice_size = len(devices), slice_size
        self._preparer = DevicePreparer()  # one per job: duplicates span slices

    def batch(self, conn: Connection, now: datetime) -> int:
        """The batch's key: created (Conflict when the name is taken) or found (NotFound)."""
        target = self.target
        if isinstance(target, ExistingBatch):
            return existing_batch(conn, self.customer_id, target.batch_id)
        return create_batch(
            conn,
            customer_id=self.customer_id,
            batch_id=target.batch_id,
            created_by=partner_name(conn, target.created_by_partner),
            now=now,
            partner_id=target.created_by_partner,
        )

    def slices(self) -> Iterator[Sequence[UploadedDevice]]:
        devices, size = self.devices, self.slice_size
        return (devices[first : first + size] for first in range(0, len(devices), size))

    def prepare(self, entries: Sequence[UploadedDevice]) -> list[JobItem]:
        return self._preparer.prepare(entries)


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


def _batch_exists(batch_id: str) -> Exception:
    return Conflict(
        f"Device batch {shown(batch_id)} already exists for this customer; add devices to it with "
        f"POST .../deviceBatches/{{batch-id}}/devices instead."
    )
