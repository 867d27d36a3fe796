"""The status poll's fast path: a finished job's document straight from memory.

Pollers hit ``GET /v1/customers/{c}/batchJobStatus/{t}`` far more than anything else. When
the token is one already verified, the partner-customer relationship was confirmed moments
ago and the job is finished and cached, this answers without the framework or the
database. Anything else (first poll, unfinished job, any error) goes the normal way, which
fills the caches.
"""

from __future__ import annotations

from starlette.types import Send

from ztd.server.api.context import AppContext
from ztd.server.api.security import READER_ROLES
from ztd.server.observe.http import fast_status_counter

_PREFIX = "/v1/customers/"
# Counted as the framework's route counts its answers, at the cost of one plain increment.
_ANSWERED_200 = fast_status_counter(200)
_ANSWERED_304 = fast_status_counter(304)
_MARKER = "/batchJobStatus/"


class FastStatus:
    """Answers a status poll from memory when it safely can; says False otherwise."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def try_answer(
        self,
        path: str,
        authorization: bytes,
        etag_match: bytes | None,
        headers: list[tuple[bytes, bytes]],
        send: Send,
    ) -> bool:
        if not path.startswith(_PREFIX):
            return False
        customer_id, found, tracking_id = path[len(_PREFIX) :].partition(_MARKER)
        if not found:
            return False
        customer_id, tracking_id = customer_id.lower(), tracking_id.lower()
        doc = self.ctx.status_cache.document(customer_id, tracking_id)
        if doc is None:  # only canonical ids of finished jobs are ever cached
            return False
        if authorization[:7].lower() != b"bearer ":
            return False
        # Only a token verified before: verifying may read key files or fetch an issuer's
        # keys, which must not happen on the event loop (the normal route does it).
        principal = self.ctx.tokens.cached(authorization[7:].decode("latin-1").strip())
        if principal is None:
            return False
        if not principal.app_only and not principal.roles & READER_ROLES:
            return False
        if not self.ctx.status_cache.may_act_for(principal.partner_id, customer_id):
            return False
        etag = doc.etag.encode()
        if etag_match == etag:
            headers.append((b"etag", etag))
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            _ANSWERED_304.inc()
            return True
        headers += [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(doc.body)).encode()),
            (b"etag", etag),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": doc.body})
        _ANSWERED_200.inc()
        return True
