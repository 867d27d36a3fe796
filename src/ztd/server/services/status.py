"""Reading a job's BatchUploadDetails (E7)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ztd.server.api.errors import not_found
from ztd.server.api.ids import maybe_guid
from ztd.server.api.status_cache import FinishedDocument, StatusCache
from ztd.server.jobs.documents import build_document, load_items
from ztd.server.storage.schema import batch_jobs


def read_status(
    conn: Connection, customer_id: str, tracking_id: str, cache: StatusCache
) -> FinishedDocument | dict[str, Any]:
    """The stored document of a finished job, or a freshly built one (constant queries)."""
    job_id = maybe_guid(tracking_id)
    job = None
    if job_id is not None:
        job = conn.execute(
            select(batch_jobs).where(
                batch_jobs.c.id == job_id, batch_jobs.c.customer_id == customer_id
            )
        ).first()
    if job is None:
        raise not_found(f"Batch tracking id {tracking_id!r} was not found for this customer.")
    if job.result_document is not None:
        cache.forget_items(job.id)
        return FinishedDocument(bytes(job.result_document), job.result_etag)
    items = cache.items(job.id)
    if items is None:
        items = load_items(conn, job.id)
        cache.remember_items(job.id, items)
    return build_document(conn, job, items)
