"""A batch of tens of thousands of devices written straight into the database (as
bench/scale.py loads a registry): a real batch to search, in seconds instead of the minutes an
upload of that size takes through the worker."""

from __future__ import annotations

import uuid

from ztd.server.clock import utc_now
from ztd.server.services import uploads
from ztd.server.storage.bulk import db_time, insert_rows
from ztd.server.storage.database import Database
from ztd.server.storage.ids import new_ids
from ztd.server.storage.schema import devices

_COLUMNS = (
    "id",
    "customer_id",
    "batch_pk",
    "serial_number",
    "product_key",
    "manufacturer",
    "hardware_key",
    "pkid_key",
    "job_id",
    "uploaded_at",
)


def serial_of(n: int) -> str:
    return f"BIG{n:07d}"


def add_big_batch(
    db: Database, customer: str, batch_id: str, count: int, *, serials: dict[int, str] | None = None
) -> list[str]:
    """A batch named ``batch_id`` of ``count`` devices, the n-th with serial ``serial_of(n)``
    (or ``serials[n]``) and PKID 35 followed by n in 11 digits. Returns the device ids in
    registration order."""
    serials = serials or {}
    now = utc_now()
    job = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:8]  # identity keys are unique across the registry
    with db.write() as conn:
        pk = uploads.create_batch(
            conn, customer_id=customer, batch_id=batch_id, created_by="test", now=now
        )
        stamp = db_time(conn, now)
        ids = new_ids(count)
        rows = []
        for n, device_id in enumerate(ids):
            serial = serials.get(n, serial_of(n))
            pkid = f"35{n:011d}"
            rows.append(
                (
                    device_id,
                    customer,
                    pk,
                    serial,
                    pkid,
                    "Contoso",
                    f"contoso\x1f{tag}\x1f{serial.casefold()}",
                    f"{tag}{pkid}",
                    job,
                    stamp,
                )
            )
        insert_rows(conn, devices, _COLUMNS, rows)
    return ids
