"""Wire-level rules applied to every request: path case and Partner Center's headers."""

from __future__ import annotations

import base64
import os
import time
import uuid
from email.utils import formatdate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Literal path segments by position under /v1/customers/{id}/..., in their canonical case.
# Only those positions are rewritten, so a batch named "Devices" keeps its own spelling.
_CANONICAL = {
    s.lower(): s
    for s in (
        "v1",
        "customers",
        "deviceBatches",
        "devices",
        "batchJobStatus",
        "DevicePolicyUpdates",
        "policies",
    )
}
_LITERAL_POSITIONS = (1, 2, 4, 6)  # "", v1, customers, {cid}, X, {id}, Y, {id}


def canonical_path(path: str) -> str:
    parts = path.split("/")
    for i in _LITERAL_POSITIONS:
        if i < len(parts):
            canonical = _CANONICAL.get(parts[i].lower())
            if canonical is not None:
                parts[i] = canonical
    return "/".join(parts)


class _DateHeader:
    """RFC 1123 date, formatted once per second rather than per response."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def value(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode()
        return self._value


class PartnerCenterHeaders:
    """Echo MS-CorrelationId / MS-RequestId (generated when absent), add MS-CV, MS-ServerId
    and Date to every response, and match /v1 paths without regard to case."""

    def __init__(self, app: ASGIApp, server_id: str) -> None:
        self.app = app
        self.server_id = server_id.encode()
        self.date = _DateHeader()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path[:4].lower() == "/v1/":
            scope["path"] = canonical_path(path)
        incoming = {k.lower(): v for k, v in scope["headers"]}
        correlation_id = incoming.get(b"ms-correlationid") or str(uuid.uuid4()).encode()
        request_id = incoming.get(b"ms-requestid") or str(uuid.uuid4()).encode()
        cv = incoming.get(b"ms-cv") or base64.b64encode(os.urandom(12)) + b".0"
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id.decode("latin-1")
        state["request_id"] = request_id.decode("latin-1")
        extra = [
            (b"ms-correlationid", correlation_id),
            (b"ms-requestid", request_id),
            (b"ms-cv", cv),
            (b"ms-serverid", self.server_id),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"date", b"server")
                ]
                message["headers"] = [*headers, *extra, (b"date", self.date.value())]
            await send(message)

        await self.app(scope, receive, send_with_headers)
