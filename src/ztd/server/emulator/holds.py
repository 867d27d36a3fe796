"""Jobs a ``stayProcessing`` rule keeps reporting as ``processing`` after they finished.

The engine finishes the job as always (its final document is stored); only its status reads
answer a processing document, for N polls or S seconds, then the stored one. The job's
completion event waits for the hold too (:func:`shown_at`, ``webhooks.held_events``): no
receiver may hear of a finish the status URL does not show yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from ztd.server.emulator.specs import StayProcessing
from ztd.server.jobs.documents import PROCESSING, assemble, load_echo, render_entries
from ztd.server.storage.schema import batch_jobs, emulator_holds


def hold(conn: Connection, job_id: str, stay: StayProcessing, now: datetime) -> None:
    if conn.execute(
        select(emulator_holds.c.job_id).where(emulator_holds.c.job_id == job_id)
    ).first():
        return  # another chunk of the job placed it
    release_at = now + timedelta(seconds=stay.seconds) if stay.seconds is not None else None
    conn.execute(
        emulator_holds.insert().values(job_id=job_id, polls=stay.polls, release_at=release_at)
    )


def shown_at(conn: Connection, job_id: str, finished_at: datetime) -> datetime | None:
    """When status reads of a job that finished at ``finished_at`` start to show its final
    document: ``finished_at`` when no hold applies, the end of a ``seconds`` hold, and None
    for a ``polls`` hold (it ends at a poll nobody can date; :func:`held_document` says so
    when it does). Call in the finishing transaction, which sees the hold its chunks placed."""
    h = emulator_holds.c
    row = conn.execute(select(h.polls, h.release_at).where(h.job_id == job_id)).first()
    if row is None:
        return finished_at
    if row.release_at is None:
        return None
    return max(finished_at, _aware(row.release_at, finished_at))


def held_document(
    conn: Connection,
    job_id: str,
    now: datetime,
    on_release: Callable[[Connection, str, datetime], None] | None = None,
) -> bytes | None:
    """The processing document of a held job, counting this poll; None when not held. When
    the hold ends at this read, its row is removed and ``on_release(conn, job_id, now)``
    runs in the same transaction (the job's parked event becomes due)."""
    h = emulator_holds.c
    row = conn.execute(select(h.polls, h.release_at).where(h.job_id == job_id)).first()
    if row is None:
        return None
    polls, release_at = row
    expired = (polls is not None and polls <= 0) or (
        release_at is not None and now >= _aware(release_at, now)
    )
    if expired:
        conn.execute(delete(emulator_holds).where(h.job_id == job_id))
        if on_release is not None:
            on_release(conn, job_id, now)
        return None
    if polls is not None:
        conn.execute(update(emulator_holds).where(h.job_id == job_id).values(polls=polls - 1))
    job = conn.execute(select(batch_jobs).where(batch_jobs.c.id == job_id)).one()
    entries = render_entries(load_echo(conn, job_id), None, PROCESSING)
    return assemble(job, PROCESSING, [entries], None)


def _aware(moment: datetime, now: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC.
    return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment
