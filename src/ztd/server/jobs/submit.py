"""Submitting a job: what happens between a parsed request and its 202, in order.

1. The items are worked out (identity checks) before the write transaction, unless the
   database can insert one slice while the next is worked out (SQLite, see
   storage/bulk.BackgroundInserts); then they are worked out inside it, a slice at a time,
   and not at all for a retry that gets the stored answer.
2. One write transaction: the MS-RequestId claim (``services/idempotency.begin``), the
   tenancy check, the batch the job belongs to, the job with its items and chunks
   (``jobs/enqueue.write_job``), the stored answer (``services/idempotency.commit``).
3. After the commit, the answer; the caller wakes the workers.

What differs between job kinds is an ``Intake``: how many items, where its batch comes
from, and how one slice of the request's entries becomes job items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection

from ztd.server.jobs.enqueue import EnqueuedJob, JobItem, write_job
from ztd.server.services import idempotency
from ztd.server.services.idempotency import RequestKey, StoredResponse
from ztd.server.services.tenancy import require_customer
from ztd.server.storage.bulk import inserts_in_background
from ztd.server.storage.database import Database


class Intake(Protocol):
    """A request's work for one job kind, as submit_job consumes it."""

    kind: str  # batch_jobs.kind
    total: int  # how many items the job will have

    def batch(self, conn: Connection, now: datetime) -> int | None:
        """The key of the batch the job belongs to (found, or created at ``now``, in the
        job's transaction), or None; raises a DomainError to refuse the request."""
        ...

    def slices(self) -> Iterable[Sequence[Any]]:
        """The request's entries, in order, a slice at a time."""
        ...

    def prepare(self, entries: Sequence[Any]) -> list[JobItem]:
        """One slice's job items, in order (pure work: no database)."""
        ...


class ReadyItems:
    """An intake whose items were worked out while the request was read; no batch."""

    def __init__(self, kind: str, items: list[JobItem]) -> None:
        self.kind, self.total, self._items = kind, len(items), items

    def batch(self, conn: Connection, now: datetime) -> int | None:
        return None

    def slices(self) -> Iterable[Sequence[JobItem]]:
        return [self._items]

    def prepare(self, entries: Sequence[Any]) -> list[JobItem]:
        return list(entries)


class Submitted(NamedTuple):
    answer: StoredResponse  # to send: this job's 202, or an earlier identical request's
    job: EnqueuedJob | None  # None when the answer is a replay


def submit_job(
    db: Database,
    intake: Intake,
    *,
    partner_id: str,
    customer_id: str,
    key: RequestKey | None,
    retention: timedelta,
    chunk_size: int,
    now: datetime,
    location: Callable[[str, str], str],
) -> Submitted:
    """Enqueue ``intake``'s job for ``customer_id``, at most once per ``key``; the answer is
    202 with ``location(customer_id, job_id)``. Raises the DomainErrors of the checks
    (tenancy, batch, idempotency conflict); nothing is written then."""
    work: Intake = intake
    if not inserts_in_background(db.write_engine.dialect.name):
        # Nothing to overlap: work the items out first, so that the transaction's locks
        # (the MS-RequestId claim, a new batch's name) are held only for the writes.
        work = _worked_out(intake)
    with db.write() as conn:
        if key is not None:
            earlier = idempotency.begin(conn, key, now, retention)
            if earlier is not None:
                return Submitted(earlier, None)
        require_customer(conn, partner_id, customer_id)
        batch_pk = work.batch(conn, now)
        with write_job(
            conn,
            kind=work.kind,
            partner_id=partner_id,
            customer_id=customer_id,
            batch_pk=batch_pk,
            total=work.total,
            chunk_size=chunk_size,
            now=now,
        ) as writer:
            for entries in work.slices():
                # Checked here, on this thread, while the writer inserts the slice before.
                writer.add(work.prepare(entries))
            job = writer.finish()
        answer = StoredResponse(202, location=location(customer_id, job.job_id))
        if key is not None:
            idempotency.commit(conn, key, answer)
    return Submitted(answer, job)


class _WorkedOut(ReadyItems):
    def __init__(self, intake: Intake, items: list[JobItem]) -> None:
        super().__init__(intake.kind, items)
        self._intake = intake

    def batch(self, conn: Connection, now: datetime) -> int | None:
        return self._intake.batch(conn, now)


def _worked_out(intake: Intake) -> Intake:
    items = [item for entries in intake.slices() for item in intake.prepare(entries)]
    return _WorkedOut(intake, items)
