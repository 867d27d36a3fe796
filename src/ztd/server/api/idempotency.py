"""Idempotent writes keyed by MS-RequestId (per partner), as Partner Center documents.

The claim on a request id is inserted in the same transaction as the work it stands for, so
either both commit or neither does. A concurrent duplicate blocks on the claim's unique key
(PostgreSQL waits for the first transaction; SQLite writes are serialized) and then replays
the committed response. A request id reused for a different request is refused with 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from hashlib import _Hash

from ztd.server.api.context import AppContext
from ztd.server.api.responses import JSON_TYPE
from ztd.server.errors import ApiError, bad_request, conflict
from ztd.server.storage.schema import idempotency_records


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    location: str | None = None
    body: bytes | None = None

    def to_response(self) -> Response:
        headers = {"Location": self.location} if self.location else None
        media_type = JSON_TYPE if self.body else None
        return Response(self.body or b"", self.status_code, headers, media_type)


def _request_line_digest(request: Request) -> _Hash:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b" " + request.url.path.lower().encode() + b"\n")
    return digest


def _hexdigest(digest: _Hash, body: bytes) -> str:
    digest.update(body)  # one call over the whole body: hashlib releases the GIL meanwhile
    return digest.hexdigest()


# Fingerprinting a 40 MB upload takes ~25 ms of SHA-256. Started in a thread as soon as the
# body is complete, it runs on a second core while the request parses and checks the
# devices, and is ready by the time the write transaction asks for it.
_fingerprinter = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ztd-fingerprint")


def start_fingerprint(request: Request, body: bytes) -> None:
    """Begin fingerprinting an idempotent request's body in the background (read_body calls
    this); fingerprint() picks the result up."""
    if not request.headers.get("ms-requestid", "").strip():
        return
    digest = _request_line_digest(request)
    if len(body) < _BACKGROUND_FROM:
        done: Future[str] = Future()
        done.set_result(_hexdigest(digest, body))
        request.state.body_fingerprint = done
    else:
        request.state.body_fingerprint = _fingerprinter.submit(_hexdigest, digest, body)


_BACKGROUND_FROM = 1 << 20  # smaller bodies hash in less time than a thread hand-off takes


def fingerprint(request: Request, body: bytes) -> str:
    started: Future[str] | None = getattr(request.state, "body_fingerprint", None)
    if started is not None:
        return started.result()
    return _hexdigest(_request_line_digest(request), body)


MAX_REQUEST_ID = 128  # idempotency_records.request_id


def run_write(
    ctx: AppContext,
    request: Request,
    partner_id: str,
    body: bytes,
    work: Callable[[Connection], StoredResponse],
) -> Response:
    """Run ``work`` in one write transaction; with MS-RequestId, at most once per request."""
    request_id = request.headers.get("ms-requestid", "").strip()
    if len(request_id) > MAX_REQUEST_ID:
        raise bad_request(
            f"MS-RequestId is {len(request_id)} characters; at most {MAX_REQUEST_ID} "
            "(the SDKs send a GUID)."
        )
    # Hashing a 40 MB upload takes tens of milliseconds: not while holding the write lock.
    print_ = fingerprint(request, body) if request_id else ""
    with ctx.db.write() as conn:
        if not request_id:
            return work(conn).to_response()
        now = ctx.clock()
        retention = timedelta(hours=ctx.settings.idempotency_retention_hours)
        earlier = _claim(conn, partner_id, request_id, print_, now, retention)
        if earlier is not None:
            return earlier.to_response()
        stored = work(conn)
        conn.execute(
            update(idempotency_records)
            .where(
                idempotency_records.c.partner_id == partner_id,
                idempotency_records.c.request_id == request_id,
            )
            .values(status_code=stored.status_code, location=stored.location, body=stored.body)
        )
        return stored.to_response()


def _claim(
    conn: Connection,
    partner_id: str,
    request_id: str,
    print_: str,
    now: datetime,
    retention: timedelta,
) -> StoredResponse | None:
    key = (
        idempotency_records.c.partner_id == partner_id,
        idempotency_records.c.request_id == request_id,
    )
    conn.execute(
        delete(idempotency_records).where(*key, idempotency_records.c.created_at < now - retention)
    )
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
    claimed = conn.execute(
        insert(idempotency_records)
        .values(partner_id=partner_id, request_id=request_id, fingerprint=print_, created_at=now)
        .on_conflict_do_nothing()
        .returning(idempotency_records.c.request_id)
    ).first()
    if claimed is not None:
        return None
    row = conn.execute(select(idempotency_records).where(*key)).one()
    if row.fingerprint != print_:
        raise conflict(
            f"MS-RequestId {request_id} was already used for a different request. Use a new "
            "MS-RequestId for every new request; reuse it only to retry the same request."
        )
    if row.status_code is None:  # cannot happen: claims commit together with their response
        raise ApiError(409, "409", f"The request with MS-RequestId {request_id} is in progress.")
    return StoredResponse(row.status_code, row.location, row.body)
