"""Idempotent writes keyed by MS-RequestId (per partner), as Partner Center documents.

The claim on a request id is inserted in the same transaction as the work it stands for, so
either both commit or neither does. A concurrent duplicate blocks on the claim's unique key
(PostgreSQL waits for the first transaction; SQLite writes are serialized) and then replays
the committed response. A request id reused for a different request is refused with 409;
"the same request" means the same method, path and JSON document, however it is spelled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from hashlib import _Hash

from ztd.server.api.context import AppContext
from ztd.server.api.responses import JSON_TYPE
from ztd.server.errors import Conflict, InvalidRequest
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
    digest.update(body)
    return digest.hexdigest()


def _canonical_hexdigest(digest: _Hash, document: Any) -> str:
    for piece in canonical_pieces(document):
        digest.update(piece)  # pieces over 2 KB hash with the GIL released
    return digest.hexdigest()


_SORTED = orjson.OPT_SORT_KEYS
_SLICE = 256  # array items per orjson.dumps call


def canonical_pieces(document: Any) -> Iterator[bytes]:
    """``orjson.dumps(document, option=OPT_SORT_KEYS)`` in pieces: the request's meaning in
    one spelling, whatever the client's key order, whitespace, number spelling (1e2 is
    100.0) or \\u escapes. Objects are walked and long arrays dumped a slice at a time,
    so no single call holds the GIL for long (orjson never releases it; a 40 MB upload
    in one call would stall the event loop). Parsed documents are at most MAX_DEPTH deep
    (api/bodies.py), so the recursion is bounded."""
    if type(document) is dict:
        yield b"{"
        for n, key in enumerate(sorted(document)):
            yield (b"," if n else b"") + orjson.dumps(key) + b":"
            yield from canonical_pieces(document[key])
        yield b"}"
    elif type(document) is list and len(document) > _SLICE:
        for start in range(0, len(document), _SLICE):
            piece = orjson.dumps(document[start : start + _SLICE], option=_SORTED)
            yield (b"[" if not start else b",") + piece[1:-1]
        yield b"]"
    else:
        yield orjson.dumps(document, option=_SORTED)


# Fingerprinting a 40 MB upload takes tens of milliseconds. Started in a thread as soon as
# the body is parsed, it runs while the request checks the devices (hashing on a second
# core), and is ready by the time the write transaction asks for it.
_fingerprinter = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ztd-fingerprint")


def start_fingerprint(request: Request, document: Any, size: int) -> None:
    """Begin fingerprinting an idempotent request's parsed body (api/bodies.py calls this
    for every JSON body of ``size`` bytes); fingerprint() picks the result up."""
    if not request.headers.get("ms-requestid", "").strip():
        return
    digest = _request_line_digest(request)
    if size < _BACKGROUND_FROM:
        done: Future[str] = Future()
        done.set_result(_canonical_hexdigest(digest, document))
        request.state.body_fingerprint = done
    else:
        request.state.body_fingerprint = _fingerprinter.submit(
            _canonical_hexdigest, digest, document
        )


_BACKGROUND_FROM = 1 << 20  # smaller bodies hash in less time than a thread hand-off takes


def fingerprint(request: Request, body: bytes) -> str:
    """The request's fingerprint: method, path and the canonical JSON body; for requests
    without a JSON body, the raw ``body``."""
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
        raise InvalidRequest(
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
        raise Conflict(
            f"MS-RequestId {request_id} was already used for a different request. Use a new "
            "MS-RequestId for every new request; reuse it only to retry the same request."
        )
    if row.status_code is None:  # cannot happen: claims commit together with their response
        raise Conflict(f"The request with MS-RequestId {request_id} is in progress.")
    return StoredResponse(row.status_code, row.location, row.body)
