"""Finishing a job, and the job-finished hook.

Each done chunk counts itself on its job row; the transaction that counts the last one also
stores the final status document and then calls every registered job-finished callback with
the same connection and a :class:`FinishedJob`. A callback's writes (an outbox row for a
webhook, say) therefore commit with the job's final state or not at all: a job is never seen
finished without them, and a rolled-back finish leaves nothing behind.

Using the hook::

    from ztd.server.jobs import finishing

    def on_finished(conn: Connection, job: finishing.FinishedJob) -> None:
        ...  # runs inside the finishing transaction; keep it short, raise to abort it

    finishing.on_job_finished(on_finished)   # once, at import or start-up

A callback that raises rolls the finishing transaction back (the chunk is then retried like
a crashed one), so only raise for a real failure. Callbacks run in registration order, in the
worker's thread, whether the job's last chunk was processed or failed by the reaper.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import Connection, select, update

from ztd.server.clock import as_utc
from ztd.server.jobs.documents import FAILED, FINISHED, assemble, load_parts
from ztd.server.storage.schema import batch_jobs, device_batches


@dataclass(frozen=True, slots=True)
class FinishedJob:
    """A job that has just finished: every item has its outcome."""

    job_id: str  # the batch tracking id
    kind: str  # batch_jobs.kind: "upload", "policy_update", ...
    partner_id: str
    customer_id: str
    batch_id: str | None  # uploads: the batch name the client chose; None otherwise
    status: str  # the document's top-level status: "finished" (or "finished_with_errors")
    created_at: datetime  # submitted (UTC)
    completed_at: datetime  # finished, this transaction's time (UTC)
    devices: int  # items in the job
    failed: int  # items whose entry carries an error
    document: bytes = field(repr=False)  # the final BatchUploadDetails, as served

    @property
    def succeeded(self) -> int:
        return self.devices - self.failed

    def outcome_counts(self) -> Counter[str]:
        """Items by outcome: ``"ok"``, or the error code (the name where Microsoft gives no
        number, e.g. ``ZtdDeviceDuplicated``). Parses the document: call it only if needed."""
        entries = orjson.loads(self.document)["devicesStatus"]
        return Counter(
            entry.get("errorCode") or entry.get("errorDescription") or "ok" for entry in entries
        )


JobFinishedCallback = Callable[[Connection, FinishedJob], None]
_callbacks: list[JobFinishedCallback] = []


def on_job_finished(callback: JobFinishedCallback) -> JobFinishedCallback:
    """Register ``callback`` (once; registering it again is a no-op). Returns it, so it can
    decorate a function."""
    if callback not in _callbacks:
        _callbacks.append(callback)
    return callback


def remove_job_finished(callback: JobFinishedCallback) -> None:
    """Unregister ``callback``; unknown callbacks are ignored."""
    if callback in _callbacks:
        _callbacks.remove(callback)


def finish_job_if_complete(
    conn: Connection, job_id: str, now: datetime, *, status_with_errors: bool = False
) -> FinishedJob | None:
    """Count one more chunk done; the transaction that finishes the last chunk also stores
    the final document, calls the job-finished callbacks and returns the finished job (None
    while chunks remain). The job row's update serializes concurrent finishers.

    A job is ``finished`` once every device has been processed, whatever their outcomes: the
    batchJobStatus page's example shows a batch whose device got 808 as ``finished``, and
    tools in the field stop polling on ``finished`` only. The device entries carry
    ``finished_with_errors`` and the code. ``status_with_errors``
    (ZTD_BATCH_STATUS_WITH_ERRORS) restores a top-level ``finished_with_errors``."""
    counts = conn.execute(
        update(batch_jobs)
        .where(batch_jobs.c.id == job_id)
        .values(chunks_done=batch_jobs.c.chunks_done + 1)
        .returning(batch_jobs.c.chunks_done, batch_jobs.c.chunk_count)
    ).one()
    if counts.chunks_done < counts.chunk_count:
        return None
    job = conn.execute(
        select(batch_jobs, device_batches.c.batch_id)
        .select_from(
            batch_jobs.outerjoin(device_batches, device_batches.c.pk == batch_jobs.c.batch_pk)
        )
        .where(batch_jobs.c.id == job_id)
    ).one()
    parts = load_parts(conn, job_id)
    failed = sum(part.failed for part in parts.values())
    status = FAILED if status_with_errors and failed else FINISHED
    body = assemble(job, status, [parts[n].entries for n in sorted(parts)], now)
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
    finished = FinishedJob(
        job_id=job.id,
        kind=job.kind,
        partner_id=job.partner_id,
        customer_id=job.customer_id,
        batch_id=job.batch_id,
        status=status,
        created_at=as_utc(job.created_at),
        completed_at=as_utc(now),
        devices=job.item_count,
        failed=failed,
        document=body,
    )
    for callback in list(_callbacks):
        callback(conn, finished)
    return finished
