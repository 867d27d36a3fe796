"""MS-RequestId at the API edge: what a request means (its fingerprint) and the idempotent
write of routes that answer from one transaction. The records themselves, claimed and
committed with the work, are ``services/idempotency.py``'s; "the same request" means the
same method, path and JSON document, however it is spelled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from hashlib import _Hash

from ztd.server.api.context import AppContext
from ztd.server.api.responses import JSON_TYPE
from ztd.server.errors import InvalidRequest
from ztd.server.services import idempotency
from ztd.server.services.idempotency import RequestKey, StoredResponse
from ztd.server.storage.widths import REQUEST_ID


def respond(stored: StoredResponse) -> Response:
    """The HTTP answer for a stored (or just made) answer."""
    headers = {"Location": stored.location} if stored.location else None
    media_type = JSON_TYPE if stored.body else None
    return Response(stored.body or b"", stored.status_code, headers, media_type)


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
_BACKGROUND_FROM = 1 << 20  # smaller bodies hash in less time than a thread hand-off takes


class RequestFingerprint:
    """What an idempotent request means: a SHA-256 over its method, path and body.

    A route whose body is JSON starts it on the parsed document (``start``, which
    ``read_json`` calls when given this object), so that a client's spelling does not
    matter; otherwise ``hexdigest`` hashes the raw body."""

    def __init__(self, request: Request) -> None:
        self._digest = hashlib.sha256()
        self._digest.update(request.method.encode())
        self._digest.update(b" " + request.url.path.lower().encode() + b"\n")
        self._started: Future[str] | None = None

    @staticmethod
    def wanted(request: Request) -> RequestFingerprint | None:
        """A fingerprint for a request with an MS-RequestId; None for one without."""
        if not request.headers.get("ms-requestid", "").strip():
            return None
        return RequestFingerprint(request)

    def start(self, document: Any, size: int) -> None:
        """Fingerprint the parsed body (``size`` bytes as sent), in a thread when large."""
        if size < _BACKGROUND_FROM:
            done: Future[str] = Future()
            done.set_result(_canonical_hexdigest(self._digest.copy(), document))
            self._started = done
        else:
            self._started = _fingerprinter.submit(
                _canonical_hexdigest, self._digest.copy(), document
            )

    def hexdigest(self, body: bytes) -> str:
        """The fingerprint: of the document ``start`` was given, else of the raw ``body``."""
        if self._started is not None:
            return self._started.result()
        digest = self._digest.copy()
        digest.update(body)
        return digest.hexdigest()


def request_key(
    request: Request, partner_id: str, fingerprint: RequestFingerprint | None, body: bytes
) -> RequestKey | None:
    """The request's idempotency key; None without an MS-RequestId; InvalidRequest when the
    id is longer than the records keep. Hashing a 40 MB upload takes tens of
    milliseconds: call this before the write transaction, not while holding its lock."""
    request_id = request.headers.get("ms-requestid", "").strip()
    if not request_id:
        return None
    if len(request_id) > REQUEST_ID:
        raise InvalidRequest(
            f"MS-RequestId is {len(request_id)} characters; at most {REQUEST_ID} "
            "(the SDKs send a GUID)."
        )
    meaning = fingerprint if fingerprint is not None else RequestFingerprint(request)
    return RequestKey(partner_id, request_id, meaning.hexdigest(body))


def retention(ctx: AppContext) -> timedelta:
    return timedelta(hours=ctx.settings.idempotency_retention_hours)


def run_write(
    ctx: AppContext,
    request: Request,
    partner_id: str,
    body: bytes,
    work: Callable[[Connection], StoredResponse],
    fingerprint: RequestFingerprint | None = None,
) -> Response:
    """Run ``work`` in one write transaction; with MS-RequestId, at most once per request."""
    key = request_key(request, partner_id, fingerprint, body)
    with ctx.db.write() as conn:
        if key is not None:
            earlier = idempotency.begin(conn, key, ctx.clock(), retention(ctx))
            if earlier is not None:
                return respond(earlier)
        stored = work(conn)
        if key is not None:
            idempotency.commit(conn, key, stored)
        return respond(stored)
