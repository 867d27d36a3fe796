"""Periodic clean-ups the worker runs alongside requeuing expired leases: forgetting old
request ids, and purging finished jobs past their retention."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, select, update

from ztd.server.storage.database import Database
from ztd.server.storage.schema import (
    batch_jobs,
    devices,
    idempotency_records,
    job_chunks,
    job_items,
)

# A purge pass stops taking new jobs after this long, so that a backlog (the first pass
# after an upgrade, say) is worked off over several passes between the worker's chunks.
PURGE_BUDGET_SECONDS = 1.0
_JOBS_PER_QUERY = 50


def purge_expired_request_ids(conn: Connection, *, now: datetime, retention_hours: float) -> int:
    """Forget MS-RequestId records older than the retention: a retry after that is new."""
    cutoff = now - timedelta(hours=retention_hours)
    result = conn.execute(
        delete(idempotency_records).where(idempotency_records.c.created_at < cutoff)
    )
    return result.rowcount


def purge_finished_jobs(
    db: Database,
    *,
    now: datetime,
    retention_days: float,
    budget_seconds: float = PURGE_BUDGET_SECONDS,
) -> int:
    """Delete jobs that finished more than ``retention_days`` before ``now``, with their
    chunks and items; returns how many. Unfinished jobs are never touched, however old.
    Their status (E7) is then 404, as for any unknown tracking id."""
    cutoff = now - timedelta(days=retention_days)
    started = time.monotonic()
    purged = 0
    while time.monotonic() - started < budget_seconds:
        with db.read() as conn:
            due = (
                conn.execute(
                    select(batch_jobs.c.id)
                    .where(batch_jobs.c.completed_at < cutoff)
                    .order_by(batch_jobs.c.completed_at)
                    .limit(_JOBS_PER_QUERY)
                )
                .scalars()
                .all()
            )
        if not due:
            break
        for job_id in due:
            _purge_job(db, job_id, cutoff)
            purged += 1
            if time.monotonic() - started >= budget_seconds:
                break
    return purged


def _purge_job(db: Database, job_id: str, cutoff: datetime) -> None:
    """One transaction per chunk, so a large job never holds SQLite's writer for long; each
    leaves a consistent state (devices with their own hash, their items gone), so a purge
    interrupted half-way is simply finished by the next pass."""
    with db.read() as conn:
        chunks = conn.execute(
            select(job_chunks.c.pk, job_chunks.c.first_ordinal, job_chunks.c.end_ordinal)
            .where(job_chunks.c.job_id == job_id)
            .order_by(job_chunks.c.chunk_no)
        ).all()
    for chunk_pk, first, end in chunks:
        with db.write() as conn:
            _release_items(conn, job_id, first, end)
            conn.execute(delete(job_chunks).where(job_chunks.c.pk == chunk_pk))
    with db.write() as conn:
        _release_items(conn, job_id, 0, None)  # any item outside the chunks' ranges
        conn.execute(delete(job_chunks).where(job_chunks.c.job_id == job_id))
        conn.execute(
            delete(batch_jobs).where(batch_jobs.c.id == job_id, batch_jobs.c.completed_at < cutoff)
        )


def _release_items(conn: Connection, job_id: str, first: int, end: int | None) -> None:
    """Give the devices registered from items ``first`` up to ``end`` their own copy of the
    hash they were uploaded with (catalog reads it there once job_ordinal is NULL), then
    delete those items. Devices are found through their items' device ids (devices.id is
    unique): a device registered from an item is the one with that item's id."""
    item = job_items.c
    in_range = and_(item.job_id == job_id, item.ordinal >= first)
    if end is not None:
        in_range = and_(in_range, item.ordinal < end)
    conn.execute(
        update(devices)
        .where(
            in_range,
            item.device_id == devices.c.id,
            devices.c.job_id == job_id,
            devices.c.job_ordinal == item.ordinal,
        )
        .values(
            hash_blob=item.hash_blob,
            hash_length=item.hash_length,
            hardware_hash=item.hardware_hash,
            job_ordinal=None,
        )
    )
    conn.execute(delete(job_items).where(in_range))
