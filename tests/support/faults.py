"""Faults injected between the SDK and the real app, below the app's own logic."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class FailFirstCreate:
    """An ASGI wrapper: the first ``POST .../deviceBatches`` gets a 503.

    ``after_app=False``: the app never sees that request. ``after_app=True``: the app handles
    it fully (the job is committed) and its answer is lost on the way back, which is the
    case only MS-RequestId idempotency gets right.
    """

    app: ASGIApp
    after_app: bool = False
    request_ids: list[str] = field(default_factory=list)
    correlation_ids: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._is_create(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        self.request_ids.append(headers[b"ms-requestid"].decode())
        self.correlation_ids.append(headers[b"ms-correlationid"].decode())
        if len(self.request_ids) > 1:
            await self.app(scope, receive, send)
            return
        if self.after_app:

            async def lose(_message: Message) -> None:
                return None

            await self.app(scope, receive, lose)
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"upstream unavailable"})

    @staticmethod
    def _is_create(scope: Scope) -> bool:
        path: str = scope.get("path", "")
        return (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and path.lower().endswith("/devicebatches")
        )
