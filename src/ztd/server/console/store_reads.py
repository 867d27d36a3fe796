"""Read-only queries for the operator pages, which no /v1 route answers: partners and their
customers, the job queue as the job engine sees it, and which jobs still exist (for the
upload files' purge). Partners never reach these (the operator pages are operators' only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ztd.server.clock import as_utc, wire_time
from ztd.server.jobs import owners
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, job_chunks

IN_FLIGHT_JOBS_SHOWN = 100
RETRIED_CHUNKS_SHOWN = 50
_IDS_PER_QUERY = 500
_STATES = ("queued", "running")


def jobs_stored(db: Database, job_ids: Iterable[str]) -> set[str]:
    """Which of ``job_ids`` (lowercase GUIDs) are stored jobs."""
    wanted = sorted({job_id.lower() for job_id in job_ids})
    found: set[str] = set()
    with db.read() as conn:
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            some = wanted[start : start + _IDS_PER_QUERY]
            query = select(batch_jobs.c.id).where(batch_jobs.c.id.in_(some))
            found.update(str(job_id).lower() for job_id in conn.execute(query).scalars())
    return found


@dataclass(frozen=True)
class LeaseHolder:
    """One worker holding leases: its owner name split into host, process id and tag."""

    owner: str
    host: str
    pid: int | None
    tag: str
    chunks: int
    earliest_expiry: str | None  # wire time (UTC)
    gone: bool  # a process of this host that no longer exists: its chunks are reclaimed


@dataclass
class Queue:
    """The job engine's state at one moment (times as wire strings, ages in seconds)."""

    now: str
    chunks: dict[str, int] = field(default_factory=dict)  # queued / running -> chunks
    jobs: dict[str, int] = field(default_factory=dict)  # queued / running -> distinct jobs
    oldest_queued_seconds: float | None = None
    holders: list[LeaseHolder] = field(default_factory=list)
    in_flight: list[dict[str, Any]] = field(default_factory=list)
    retried: list[dict[str, Any]] = field(default_factory=list)  # queued/running, attempts > 1
    retried_count: int = 0


def queue(conn: Connection, now: datetime) -> Queue:
    """Chunks by state, their leases and owners, the oldest queued age, the chunks being
    retried (rescued after a lost lease, or failed before) and the jobs not finished.
    Done chunks are never counted: they are most of the table."""
    chunk = job_chunks.c
    state = Queue(now=wire_time(now))
    for row in conn.execute(
        select(chunk.status, func.count(), func.count(chunk.job_id.distinct()))
        .where(chunk.status.in_(_STATES))
        .group_by(chunk.status)
    ):
        state.chunks[row[0]], state.jobs[row[0]] = int(row[1]), int(row[2])
    oldest = conn.execute(
        select(func.min(batch_jobs.c.created_at))
        .select_from(job_chunks.join(batch_jobs, batch_jobs.c.id == chunk.job_id))
        .where(chunk.status == "queued")
    ).scalar()
    if oldest is not None:
        state.oldest_queued_seconds = max((now - as_utc(oldest)).total_seconds(), 0.0)
    state.holders = _holders(conn)
    state.in_flight = _in_flight(conn)
    retried = chunk.status.in_(_STATES) & (chunk.attempts > 1)
    state.retried_count = int(conn.execute(select(func.count()).where(retried)).scalar() or 0)
    state.retried = [
        {
            "job_id": str(row.job_id),
            "chunk_no": row.chunk_no,
            "status": row.status,
            "attempts": row.attempts,
            "owner": row.lease_owner,
        }
        for row in conn.execute(
            select(chunk.job_id, chunk.chunk_no, chunk.status, chunk.attempts, chunk.lease_owner)
            .where(retried)
            .order_by(chunk.attempts.desc(), chunk.pk)
            .limit(RETRIED_CHUNKS_SHOWN)
        )
    ]
    return state


def _holders(conn: Connection) -> list[LeaseHolder]:
    chunk = job_chunks.c
    rows = conn.execute(
        select(chunk.lease_owner, func.count(), func.min(chunk.lease_expires_at))
        .where(chunk.status == "running")
        .group_by(chunk.lease_owner)
        .order_by(chunk.lease_owner)
    ).all()
    holders = []
    for name, count, expiry in rows:
        parsed = owners.parse(name)
        holders.append(
            LeaseHolder(
                owner=name or "(none: being reclaimed)",
                host=parsed.host if parsed else "",
                pid=parsed.pid if parsed else None,
                tag=parsed.tag if parsed else "",
                chunks=int(count),
                earliest_expiry=wire_time(expiry) if expiry is not None else None,
                gone=owners.is_provably_dead(name),
            )
        )
    return holders


def _in_flight(conn: Connection) -> list[dict[str, Any]]:
    job = batch_jobs.c
    rows = conn.execute(
        select(
            job.id,
            job.kind,
            job.partner_id,
            job.customer_id,
            job.status,
            job.item_count,
            job.chunk_count,
            job.chunks_done,
            job.created_at,
            job.started_at,
        )
        .where(job.completed_at.is_(None))
        .order_by(job.created_at, job.id)
        .limit(IN_FLIGHT_JOBS_SHOWN)
    ).all()
    return [
        {
            "id": str(row.id),
            "kind": row.kind,
            "partner_id": str(row.partner_id),
            "customer_id": str(row.customer_id),
            "status": row.status,
            "devices": row.item_count,
            "chunks": row.chunk_count,
            "chunks_done": row.chunks_done,
            "created": wire_time(row.created_at),
            "started": wire_time(row.started_at) if row.started_at is not None else None,
        }
        for row in rows
    ]
