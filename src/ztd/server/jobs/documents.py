"""BatchUploadDetails documents: built from a job's items and chunk outcomes.

An unfinished job costs three queries whatever its size (job, chunks, items). When the last
chunk finishes, the document is serialized once and stored with its ETag: a finished job's
status never changes again, so reads serve the stored bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, select, update

from ztd.server.clock import wire_time
from ztd.server.storage.schema import batch_jobs, job_chunks, job_items
from ztd.wire import DeviceUploadStatusType as Status

FINISHED = Status.FINISHED.value
FAILED = Status.FINISHED_WITH_ERRORS.value

# One chunk outcome per item, in ordinal order: [device_id, error_code, error_name].
ItemOutcome = list[str | None]


def encode_outcomes(outcomes: Sequence[ItemOutcome]) -> bytes:
    return orjson.dumps(list(outcomes))


ItemEcho = tuple[str | None, str | None, str | None]  # device_ref, serial, product key


def load_items(conn: Connection, job_id: str) -> list[ItemEcho]:
    """What the document echoes of each item; it never changes once the job exists."""
    result = conn.execute(
        select(job_items.c.device_ref, job_items.c.serial_number, job_items.c.product_key)
        .where(job_items.c.job_id == job_id)
        .order_by(job_items.c.ordinal)
    )
    # Plain text columns need no result processing; the driver's own tuples are several
    # times cheaper than SQLAlchemy Rows for a 10,000-device job.
    return list(result.cursor.fetchall())


def load_chunks(conn: Connection, job_id: str) -> Sequence[Any]:
    return conn.execute(
        select(
            job_chunks.c.first_ordinal,
            job_chunks.c.end_ordinal,
            job_chunks.c.status,
            job_chunks.c.results,
        )
        .where(job_chunks.c.job_id == job_id)
        .order_by(job_chunks.c.chunk_no)
    ).all()


def build_document(
    conn: Connection,
    job: Row[Any],
    items: list[ItemEcho] | None = None,
    chunks: Sequence[Any] | None = None,
) -> dict[str, Any]:
    if chunks is None:
        chunks = load_chunks(conn, job.id)
    if items is None:
        items = load_items(conn, job.id)
    devices_status: list[dict[str, Any]] = []
    for chunk in chunks:
        outcomes = orjson.loads(chunk.results) if chunk.results else None
        item_status = Status.PROCESSING.value if chunk.status == "running" else Status.QUEUED.value
        for offset, (device_ref, serial, product_key) in enumerate(
            items[chunk.first_ordinal : chunk.end_ordinal]
        ):
            entry: dict[str, Any] = {}
            device_id = device_ref
            if outcomes is not None:
                device_id, code, name = outcomes[offset]
                entry_status = FAILED if name else FINISHED
            else:
                code = name = None
                entry_status = item_status
            if device_id:
                entry["deviceId"] = device_id
            if serial is not None:
                entry["serialNumber"] = serial
            if product_key is not None:
                entry["productKey"] = product_key
            entry["status"] = entry_status
            if code:
                entry["errorCode"] = code
            if name:
                entry["errorDescription"] = name
            entry["attributes"] = {"objectType": "DeviceUploadDetails"}
            devices_status.append(entry)
    document: dict[str, Any] = {"batchTrackingId": job.id, "status": job.status}
    if job.started_at is not None:
        document["startedTime"] = wire_time(job.started_at)
    if job.completed_at is not None:
        document["completedTime"] = wire_time(job.completed_at)
    document["devicesStatus"] = devices_status
    document["attributes"] = {"objectType": "BatchUploadDetails"}
    return document


def finish_job_if_complete(conn: Connection, job_id: str, now: datetime) -> bool:
    """Count one more chunk done; the transaction that finishes the last chunk also stores
    the final document. The job row's update serializes concurrent finishers."""
    counts = conn.execute(
        update(batch_jobs)
        .where(batch_jobs.c.id == job_id)
        .values(chunks_done=batch_jobs.c.chunks_done + 1)
        .returning(batch_jobs.c.chunks_done, batch_jobs.c.chunk_count)
    ).one()
    if counts.chunks_done < counts.chunk_count:
        return False
    job = conn.execute(select(batch_jobs).where(batch_jobs.c.id == job_id)).one()
    document = build_document(conn, job)
    failed = any(entry["status"] == FAILED for entry in document["devicesStatus"])
    status = FAILED if failed else FINISHED
    document["status"] = status
    document["completedTime"] = wire_time(now)
    # The documented property order: status, startedTime, completedTime, devicesStatus, ...
    document["devicesStatus"] = document.pop("devicesStatus")
    document["attributes"] = document.pop("attributes")
    body = orjson.dumps(document)
    conn.execute(
        update(batch_jobs)
        .where(batch_jobs.c.id == job_id)
        .values(
            status=status,
            completed_at=now,
            result_document=body,
            result_etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        )
    )
    return True
