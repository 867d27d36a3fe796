"""Periodic clean-ups the worker's reaper runs alongside requeuing expired leases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete

from ztd.server.storage.schema import idempotency_records


def purge_expired_request_ids(conn: Connection, *, now: datetime, retention_hours: float) -> int:
    """Forget MS-RequestId records older than the retention: a retry after that is new."""
    cutoff = now - timedelta(hours=retention_hours)
    result = conn.execute(
        delete(idempotency_records).where(idempotency_records.c.created_at < cutoff)
    )
    return result.rowcount
