"""MS-RequestId records: a write's claim on its request id and the answer it stored.

``begin`` claims the id inside the caller's write transaction and ``commit`` stores the
answer in the same one, so either both commit with the work or neither does. A concurrent
duplicate blocks on the claim's unique key (PostgreSQL waits for the first transaction;
SQLite writes are serialized) and then replays the committed answer. A request id reused
for a different request (another fingerprint) is refused with ``Conflict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from ztd.server.errors import Conflict
from ztd.server.storage.bulk import dialect_insert
from ztd.server.storage.schema import idempotency_records


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer as it is stored for replay: status, relative Location, JSON body bytes."""

    status_code: int
    location: str | None = None
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class RequestKey:
    """One partner's request id and what the request meant (its fingerprint, a hex digest)."""

    partner_id: str
    request_id: str
    fingerprint: str


def begin(
    conn: Connection, key: RequestKey, now: datetime, retention: timedelta
) -> StoredResponse | None:
    """Claim ``key`` in ``conn``'s transaction. None: the work is this request's to do;
    a StoredResponse: an earlier identical request's answer, to send again. Raises
    Conflict when the id was used for a different request. Records older than
    ``retention`` are forgotten first."""
    same_id = (
        idempotency_records.c.partner_id == key.partner_id,
        idempotency_records.c.request_id == key.request_id,
    )
    conn.execute(
        delete(idempotency_records).where(
            *same_id, idempotency_records.c.created_at < now - retention
        )
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
    claimed = conn.execute(
        dialect_insert(conn, idempotency_records)
        .values(
            partner_id=key.partner_id,
            request_id=key.request_id,
            fingerprint=key.fingerprint,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(idempotency_records.c.request_id)
    ).first()
    if claimed is not None:
        return None
    row = conn.execute(select(idempotency_records).where(*same_id)).one()
    if row.fingerprint != key.fingerprint:
        raise Conflict(
            f"MS-RequestId {key.request_id} was already used for a different request. Use a "
            "new MS-RequestId for every new request; reuse it only to retry the same request."
        )
    if row.status_code is None:  # cannot happen: claims commit together with their answer
        raise Conflict(f"The request with MS-RequestId {key.request_id} is in progress.")
    return StoredResponse(row.status_code, row.location, row.body)


def commit(conn: Connection, key: RequestKey, stored: StoredResponse) -> None:
    """Store the answer of the work ``begin`` let through, in the same transaction."""
    conn.execute(
        update(idempotency_records)
        .where(
            idempotency_records.c.partner_id == key.partner_id,
            idempotency_records.c.request_id == key.request_id,
        )
        .values(status_code=stored.status_code, location=stored.location, body=stored.body)
    )
