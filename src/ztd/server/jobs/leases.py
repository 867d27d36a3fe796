"""Leases on job chunks: claim, heartbeat, fenced finish, and the reaper.

A worker claims a queued chunk with a fresh ``lease_token`` and a deadline. While it works it
extends the deadline (heartbeat). It finishes only through :func:`fence`, an UPDATE that
matches its own token: if the reaper gave the chunk to someone else meanwhile, nothing
matches and the worker's whole transaction is rolled back, so a stale worker cannot write.
A worker that stops (SIGTERM) hands a chunk back with :func:`release`: queued again at once,
the attempt not counted, instead of waiting for the lease to expire.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, and_, case, or_, select, update

from ztd.server.jobs import owners
from ztd.server.jobs.contract import AsPlanned
from ztd.server.jobs.documents import ChunkPart
from ztd.server.jobs.states import ChunkState
from ztd.server.observe.metrics import LEASE_EXPIRIES, REAPER_RESCUES
from ztd.server.storage.schema import batch_jobs, job_chunks
from ztd.wire import DeviceUploadStatusType

# Plain strings for the driver (an Enum member is not a str to every DBAPI).
QUEUED, RUNNING, DONE = ChunkState.QUEUED.value, ChunkState.RUNNING.value, ChunkState.DONE.value


@dataclass(frozen=True, slots=True)
class Lease:
    chunk_pk: int
    job_id: str
    chunk_no: int
    first_ordinal: int
    end_ordinal: int
    token: str
    attempts: int
    expected_inserts: int | None = None  # uploads: see expected_upload_part


class LeaseLost(Exception):
    """The chunk's lease was taken over; the holder must drop its work."""


def claim(conn: Connection, *, owner: str, now: datetime, lease_seconds: float) -> Lease | None:
    """Claim the oldest queued chunk. On PostgreSQL concurrent workers skip each other's
    locked rows; on SQLite the write transaction is already exclusive."""
    candidate = (
        select(job_chunks.c.pk)
        .where(job_chunks.c.status == QUEUED)
        .order_by(job_chunks.c.pk)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    token = str(uuid.uuid4())
    row = conn.execute(
        update(job_chunks)
        .where(job_chunks.c.pk == candidate)
        .values(
            status=RUNNING,
            lease_owner=owner,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=job_chunks.c.attempts + 1,
        )
        .returning(
            job_chunks.c.pk,
            job_chunks.c.job_id,
            job_chunks.c.chunk_no,
            job_chunks.c.first_ordinal,
            job_chunks.c.end_ordinal,
            job_chunks.c.attempts,
            job_chunks.c.expected_inserts,
        )
    ).first()
    if row is None:
        return None
    conn.execute(
        update(batch_jobs)
        .where(batch_jobs.c.id == row.job_id, batch_jobs.c.started_at.is_(None))
        .values(started_at=now, status=DeviceUploadStatusType.PROCESSING.value)
    )
    return Lease(
        chunk_pk=row.pk,
        job_id=row.job_id,
        chunk_no=row.chunk_no,
        first_ordinal=row.first_ordinal,
        end_ordinal=row.end_ordinal,
        token=token,
        attempts=row.attempts,
        expected_inserts=row.expected_inserts,
    )


def heartbeat(conn: Connection, lease: Lease, *, now: datetime, lease_seconds: float) -> bool:
    """Extend the lease; False when it was lost."""
    result = conn.execute(
        update(job_chunks)
        .where(_held(lease))
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
    )
    return result.rowcount == 1


def fence(conn: Connection, lease: Lease) -> None:
    """First statement of the finishing transaction: check the lease is still ours and lock
    the chunk row, which keeps the reaper out until commit. Raises LeaseLost otherwise."""
    result = conn.execute(
        update(job_chunks).where(_held(lease)).values(lease_owner=job_chunks.c.lease_owner)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"lease on chunk {lease.chunk_no} of job {lease.job_id} was lost")


def mark_done(conn: Connection, chunk_pk: int, part: ChunkPart | AsPlanned) -> None:
    """Done with ``part``, or, AS_PLANNED, with the part the chunk got at enqueue."""
    stored = {} if isinstance(part, AsPlanned) else {"entries": part.entries, "failed": part.failed}
    conn.execute(
        update(job_chunks)
        .where(job_chunks.c.pk == chunk_pk)
        .values(status=DONE, lease_token=None, lease_expires_at=None, **stored)
    )


def expire(conn: Connection, lease: Lease, now: datetime) -> None:
    """End the lease now, keeping the attempt: the reaper then treats the chunk exactly as
    one whose worker died (requeued, or failed once out of attempts). For an attempt that
    failed (ChunkAttemptFailed)."""
    conn.execute(
        update(job_chunks).where(_held(lease)).values(lease_expires_at=now - timedelta(seconds=1))
    )


def release(conn: Connection, lease: Lease) -> bool:
    """Hand the chunk back, claimable at once, its attempt not counted: its worker stops
    (SIGTERM) and rolled back whatever it had done of it. False when the lease was no longer
    held (the chunk was finished or taken over meanwhile): nothing to release."""
    result = conn.execute(
        update(job_chunks)
        .where(_held(lease))
        .values(
            status=QUEUED,
            lease_owner=None,
            lease_token=None,
            lease_expires_at=None,
            attempts=job_chunks.c.attempts - 1,
        )
    )
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class ExhaustedChunk:
    chunk_pk: int
    job_id: str
    first_ordinal: int
    end_ordinal: int


@dataclass(frozen=True, slots=True)
class RescuedChunk:
    """A chunk the reaper queued again for another worker."""

    job_id: str
    chunk_no: int
    previous_owner: str | None  # the worker that held it (None: it held no lease)
    reason: str  # "lease expired", "owner died" or "no lease"
    attempts: int  # attempts made so far; the next is attempts + 1


class Reaped(NamedTuple):
    exhausted: list[ExhaustedChunk]  # out of attempts: for the caller to fail
    rescued: list[RescuedChunk]  # queued again: for the caller to log once committed


def reap(
    conn: Connection,
    *,
    now: datetime,
    max_attempts: int,
    is_dead: Callable[[str], bool] = owners.is_provably_dead,
) -> Reaped:
    """Requeue running chunks whose lease expired (their worker died or stalled), and at once
    those of owners that provably died (a process of this host that is gone: see
    ``owners``), instead of after their lease runs out. Chunks that ran out of attempts are
    returned as ``exhausted``, still running with no lease, for the caller to fail in this
    same transaction; the others as ``rescued``.

    One UPDATE decides which chunks move, and its RETURNING says which: a chunk another
    reaper or a finishing worker holds is waited for and then re-checked, so each expired
    chunk is handled exactly once. (A SELECT ... SKIP LOCKED first and an UPDATE after could
    disagree: a chunk locked during the first and free by the second was left running with
    no lease, stuck for good.) Such a chunk, from before, counts as expired too. The owners
    read first only name, in ``rescued``, who held a chunk (RETURNING gives the new row)."""
    chunk = job_chunks.c
    running = conn.execute(select(chunk.pk, chunk.lease_owner).where(chunk.status == RUNNING))
    held_by: dict[int, str | None] = {row.pk: row.lease_owner for row in running}
    dead = {owner for owner in set(held_by.values()) if owner is not None and is_dead(owner)}
    expired = and_(
        chunk.status == RUNNING,
        or_(
            chunk.lease_expires_at < now,
            chunk.lease_expires_at.is_(None),
            chunk.lease_owner.in_(dead),
        ),
    )
    moved = conn.execute(
        update(job_chunks)
        .where(expired)
        .values(
            status=case((chunk.attempts >= max_attempts, RUNNING), else_=QUEUED),
            lease_owner=None,
            lease_token=None,
            lease_expires_at=None,
        )
        .returning(
            chunk.pk,
            chunk.job_id,
            chunk.chunk_no,
            chunk.first_ordinal,
            chunk.end_ordinal,
            chunk.attempts,
        )
    ).all()
    moved = sorted(moved, key=lambda row: row.pk)
    exhausted = [
        ExhaustedChunk(row.pk, row.job_id, row.first_ordinal, row.end_ordinal)
        for row in moved
        if row.attempts >= max_attempts
    ]
    rescued = []
    for row in moved:
        if row.attempts < max_attempts:
            owner = held_by.get(row.pk)
            reason = (
                "no lease" if owner is None else "owner died" if owner in dead else "lease expired"
            )
            rescued.append(RescuedChunk(row.job_id, row.chunk_no, owner, reason, row.attempts))
    LEASE_EXPIRIES.inc(len(moved))
    REAPER_RESCUES.inc(len(rescued))
    return Reaped(exhausted, rescued)


def _held(lease: Lease) -> ColumnElement[bool]:
    return and_(
        job_chunks.c.pk == lease.chunk_pk,
        job_chunks.c.lease_token == lease.token,
        job_chunks.c.status == RUNNING,
    )
