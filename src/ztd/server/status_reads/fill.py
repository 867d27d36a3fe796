"""Reading a job's BatchUploadDetails from the database (E7), reusing what the cache holds
of a running job."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ztd.server.errors import NotFound, shown
from ztd.server.jobs.documents import load_chunks, load_echo, running_document
from ztd.server.status_reads.cache import (
    FinishedDocument,
    RunningDocument,
    RunningJob,
    StatusCache,
)
from ztd.server.status_reads.keys import canonical_id
from ztd.server.storage.schema import batch_jobs


def read_status(
    conn: Connection, customer_id: str, tracking_id: str, cache: StatusCache
) -> FinishedDocument | RunningDocument:
    """The stored document of a finished job, or the current one of a running job; a
    constant number of queries whatever the job's size. ``customer_id`` is canonical;
    ``tracking_id`` as the client spelled it. Raises NotFound when the customer has no
    such job."""
    job_id = canonical_id(tracking_id)
    job = None
    if job_id is not None:
        job = conn.execute(
            select(batch_jobs).where(
                batch_jobs.c.id == job_id, batch_jobs.c.customer_id == customer_id
            )
        ).first()
    if job is None:
        raise NotFound(f"Batch tracking id {shown(tracking_id)} was not found for this customer.")
    if job.result_document is not None:
        cache.forget_running(job.id)
        return FinishedDocument(bytes(job.result_document), job.result_etag)
    running = cache.running(job.id)
    if running is None:
        running = RunningJob(load_echo(conn, job.id))
        cache.remember_running(job.id, running)
    chunks = load_chunks(conn, job.id)
    # Pollers ask far more often than chunks finish: rebuild only when a state changed.
    state = (job.status, job.started_at, *(chunk.status for chunk in chunks))
    if running.document is None or running.state != state:
        body = running_document(conn, job, chunks, running.items, running.parts)
        running.state, running.document = state, RunningDocument(body)
    return running.document
