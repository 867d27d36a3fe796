"""The status poll's fast path: a finished job's document straight from memory.

Pollers hit ``GET /v1/customers/{c}/batchJobStatus/{t}`` far more than anything else. When
the token is one already verified, the partner-customer relationship was confirmed moments
ago and the job is finished and cached, this answers without the framework or the
database. Anything else (first poll, unfinished job, any error) goes the normal way, which
fills the caches.
"""

from __future__ import annotations

import uuid

from starlette.types import ASGIApp, Receive, Scope, Send

from ztd.server.api.context import AppContext
from ztd.server.api.security import READER_ROLES
from ztd.server.auth.tokens import InvalidToken

_PREFIX = "/v1/customers/"
_MARKER = "/batchJobStatus/"


class FastStatus:
    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(_PREFIX) and _MARKER in path and await self._answer(scope, send):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send) -> bool:
        customer_id, _, tracking_id = scope["path"][len(_PREFIX) :].partition(_MARKER)
        customer_id, tracking_id = customer_id.lower(), tracking_id.lower()
        doc = self.ctx.status_cache.document(customer_id, tracking_id)
        if doc is None or "/" in tracking_id or not _is_guid(customer_id):
            return False
        authorization = etag_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"if-none-match":
                etag_match = value
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return False
        try:
            principal = self.ctx.tokens.validate(authorization[7:].decode("latin-1").strip())
        except InvalidToken:
            return False
        if not principal.app_only and not principal.roles & READER_ROLES:
            return False
        if not self.ctx.status_cache.may_act_for(principal.partner_id, customer_id):
            return False
        etag = doc.etag.encode()
        if etag_match == etag:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
            await send({"type": "http.response.body", "body": b""})
            return True
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(doc.body)).encode()),
                    (b"etag", etag),
                ],
            }
        )
        await send({"type": "http.response.body", "body": doc.body})
        return True


def _is_guid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
