"""Transactional enqueue: a job, its chunks and its items, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert

from ztd.server.jobs.documents import ItemEcho, chunk_part, planned_outcome
from ztd.server.jobs.notify import announce_job
from ztd.server.jobs.states import ChunkState
from ztd.server.observe import logs, tracing
from ztd.server.storage.bulk import BackgroundInserts
from ztd.server.storage.schema import batch_jobs, job_chunks, job_items
from ztd.wire import DeviceUploadStatusType


class JobItem(NamedTuple):
    """One row of a job's work, in request order; the columns of ``job_items``."""

    device_ref: str | None = None  # policy updates: the device id sent
    serial_number: str | None = None
    product_key: str | None = None
    hash_blob: bytes | None = None
    hash_length: int | None = None
    hardware_hash: str | None = None
    model_name: str | None = None
    manufacturer: str | None = None
    hardware_key: str | None = None
    pkid_key: str | None = None
    policy_ref: str | None = None  # policy updates: the policy id sent
    precheck_code: str | None = None  # set when the item can never succeed
    precheck_name: str | None = None
    # Why, for people (the validator's reason, e.g. "base64 length 3 is not a multiple of
    # 4"): the status entry's errorDetail. At most MAX_PRECHECK_DETAIL characters.
    precheck_detail: str | None = None
    device_id: str | None = None  # uploads: the id the device gets if it registers

    @property
    def echo(self) -> ItemEcho:
        """What the status document repeats of this item."""
        return self.device_ref, self.serial_number, self.product_key

    def refused(self) -> JobItem:
        """What is stored of an item refused at enqueue: only what its status entry needs.
        Its hash is never read again, and may be megabytes of junk (every other property
        is bounded by the request's validation)."""
        return JobItem(
            device_ref=self.device_ref,
            serial_number=self.serial_number,
            product_key=self.product_key,
            precheck_code=self.precheck_code,
            precheck_name=self.precheck_name,
            precheck_detail=self.precheck_detail,
        )


def expected_upload_part(items: Sequence[JobItem]) -> dict[str, Any]:
    """What a chunk of an upload reports when every device that passed the prechecks
    registers, the common case: the worker then only checks that as many rows landed
    (expected_inserts) and keeps this part. Hashless devices are resolved through the OEM
    registry first, and devices sent with a policy take it once registered, so a chunk with
    any of those expects nothing and is worked out in full."""
    outcomes = [planned_outcome(i) for i in items]
    part = chunk_part([item.echo for item in items], outcomes)
    planned = [i for i in items if i.device_id is not None]
    # Policies sent with devices are checked once they register (809/810).
    worked_out = any(
        (i.hash_blob is None and i.hardware_hash is None) or i.policy_ref for i in planned
    )
    expected = None if worked_out else len(planned)
    return {"entries": part.entries, "failed": part.failed, "expected_inserts": expected}


class EnqueuedJob(NamedTuple):
    job_id: str  # the batch tracking id
    items: list[JobItem]


_ITEM_COLUMNS = ("job_id", "ordinal", *JobItem._fields)


@contextmanager
def write_job(
    conn: Connection,
    *,
    kind: str,
    partner_id: str,
    customer_id: str,
    batch_pk: int | None,
    total: int,
    chunk_size: int,
    now: datetime,
) -> Iterator[JobWriter]:
    """Write one job inside the caller's transaction, in the order a reader expects: the job
    row on entry, its items slice by slice (``JobWriter.add``), its chunks and the workers'
    wake-up at ``JobWriter.finish``. Nothing commits here; the caller's transaction does.

    Items are inserted with BackgroundInserts: on SQLite a slice's insert runs on a second
    core while the caller works out the next slice, so the caller should ``add`` each slice
    as soon as it is ready. ``total`` is how many items the job will have (the chunk plan
    is made from it); ``finish`` refuses a job that got another number. On leaving with an
    error, a background insert still running is waited for (the transaction then rolls
    back)."""
    with BackgroundInserts(conn, job_items, _ITEM_COLUMNS) as inserts:
        writer = JobWriter(conn, inserts, kind=kind, total=total, chunk_size=chunk_size)
        writer.insert_job(
            partner_id=partner_id, customer_id=customer_id, batch_pk=batch_pk, now=now
        )
        yield writer


class JobWriter:
    """One job being written (see write_job): its id, and the items added so far."""

    def __init__(
        self,
        conn: Connection,
        inserts: BackgroundInserts,
        *,
        kind: str,
        total: int,
        chunk_size: int,
    ) -> None:
        self.conn, self.kind, self.total, self.chunk_size = conn, kind, total, chunk_size
        self.job_id = str(uuid.uuid4())
        self.chunk_count = max(1, -(-total // chunk_size))
        self.items: list[JobItem] = []
        self._inserts = inserts

    def insert_job(
        self, *, partner_id: str, customer_id: str, batch_pk: int | None, now: datetime
    ) -> None:
        self.conn.execute(
            insert(batch_jobs).values(
                id=self.job_id,
                kind=self.kind,
                partner_id=partner_id,
                customer_id=customer_id,
                batch_pk=batch_pk,
                status=DeviceUploadStatusType.QUEUED.value,
                item_count=self.total,
                chunk_count=self.chunk_count,
                chunks_done=0,
                created_at=now,
                # Bound at the request's edge; the worker logs the job's devices under it.
                correlation_id=logs.current().get("correlation_id"),
                traceparent=tracing.current_traceparent(),
            )
        )

    def add(self, items: Sequence[JobItem]) -> None:
        """Insert the next ``items`` (SQLite: in the background; returns at once)."""
        first, job_id = len(self.items), self.job_id
        self._inserts.add(
            [
                (job_id, first + i, *(item if item.precheck_name is None else item.refused()))
                for i, item in enumerate(items)
            ]
        )
        self.items.extend(items)

    def finish(self) -> EnqueuedJob:
        """Insert the chunks (while the last slice is still being inserted) and announce the
        job; waits for the items' inserts. ValueError when the items were not ``total``."""
        if len(self.items) != self.total:
            raise ValueError(f"{len(self.items)} items were added to a job of {self.total}")
        chunks = _new_chunks(self.job_id, self.kind, self.items, self.chunk_size, self.chunk_count)
        self._inserts.wait()  # the last insert lands before the chunks
        self.conn.execute(insert(job_chunks), chunks)
        announce_job(self.conn)  # standalone workers start at commit, not at their next poll
        return EnqueuedJob(self.job_id, self.items)


def enqueue_job(
    conn: Connection,
    *,
    kind: str,
    partner_id: str,
    customer_id: str,
    batch_pk: int | None,
    items: Sequence[JobItem],
    chunk_size: int,
    now: datetime,
) -> EnqueuedJob:
    """Insert a job whose items are all known; commits with the caller's transaction."""
    with write_job(
        conn,
        kind=kind,
        partner_id=partner_id,
        customer_id=customer_id,
        batch_pk=batch_pk,
        total=len(items),
        chunk_size=chunk_size,
        now=now,
    ) as writer:
        writer.add(items)
        return writer.finish()


def _new_chunks(
    job_id: str, kind: str, items: Sequence[JobItem], chunk_size: int, chunk_count: int
) -> list[dict[str, Any]]:
    """The job's ``job_chunks`` rows, queued."""
    chunks = []
    for n in range(chunk_count):
        first, end = n * chunk_size, min(len(items), (n + 1) * chunk_size)
        chunk = {
            "job_id": job_id,
            "chunk_no": n,
            "first_ordinal": first,
            "end_ordinal": end,
            "status": ChunkState.QUEUED.value,
            "attempts": 0,
        }
        if kind == "upload":
            chunk.update(expected_upload_part(items[first:end]))
        chunks.append(chunk)
    return chunks
