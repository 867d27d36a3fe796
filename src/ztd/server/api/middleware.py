"""Wire-level rules applied to every request: path case and Partner Center's headers."""

from __future__ import annotations

import base64
import itertools
import os
import re
import time
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
    path = clean_path(path)
    parts = path.split("/")
    for i in _LITERAL_POSITIONS:
        if i < len(parts):
            canonical = _CANONICAL.get(parts[i].lower())
            if canonical is not None:
                parts[i] = canonical
    return "/".join(parts)


def clean_path(path: str) -> str:
    """The path ASP.NET would route: runs of slashes as one (a doc example and scripts that
    join URLs send //v1/...), no trailing slash (answered in place, not redirected)."""
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


_SLASHES = re.compile(r"/{2,}")


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


class _GuidSource:
    """GUID-shaped ids for responses: a random per-process prefix and a counter. Unique, and
    far cheaper than uuid4 on a path that answers tens of thousands of polls a second."""

    def __init__(self) -> None:
        p = os.urandom(10).hex()
        self._prefix = f"{p[:8]}-{p[8:12]}-4{p[13:16]}-a{p[17:20]}-".encode()
        self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def next(self) -> bytes:
        return self._prefix + b"%012x" % (next(self._counter) & 0xFFFFFFFFFFFF)


class PartnerCenterHeaders:
    """Echo MS-CorrelationId / MS-RequestId (generated when absent), add MS-CV, MS-ServerId
    and Date to every response, and match /v1 paths without regard to case."""

    def __init__(self, app: ASGIApp, server_id: str) -> None:
        self.app = app
        self.server_id = server_id.encode()
        self.date = _DateHeader()
        self.ids = _GuidSource()
        self.cv_prefix = base64.b64encode(os.urandom(9))

    def stamp(self, request_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The headers every response to a request with ``request_headers`` carries: the
        ids first (MS-CorrelationId, MS-RequestId, MS-CV, MS-ServerId), then Date."""
        correlation_id = request_id = cv = None
        for name, value in request_headers:  # ASGI servers hand over lower-case names
            if name == b"ms-correlationid":
                correlation_id = value
            elif name == b"ms-requestid":
                request_id = value
            elif name == b"ms-cv":
                cv = value
        return self.stamp_ids(correlation_id, request_id, cv)

    def stamp_ids(
        self, correlation_id: bytes | None, request_id: bytes | None, cv: bytes | None
    ) -> list[tuple[bytes, bytes]]:
        """``stamp`` for a caller that read the request's ids itself: the status fast lane,
        which runs outside this layer and reads its own headers in the same pass."""
        return [
            (b"ms-correlationid", correlation_id or self.ids.next()),
            (b"ms-requestid", request_id or self.ids.next()),
            (b"ms-cv", cv or self.cv_prefix + b".0"),
            (b"ms-serverid", self.server_id),
            (b"date", self.date.value()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path[:4].lower() == "/v1/" or path.startswith("//") or path.endswith("/"):
            scope["path"] = canonical_path(path)
        extra = self.stamp(scope["headers"])
        # For the log context and the job (observe/http.py).
        scope["ztd.correlation_id"], scope["ztd.request_id"] = extra[0][1], extra[1][1]
        ids = extra[:-1]  # the Date is taken when the answer starts

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k != b"date" and k != b"server"
                ]
                message["headers"] = [*headers, *ids, (b"date", self.date.value())]
            await send(message)

        await self.app(scope, receive, send_with_headers)
