"""Request limits and slow-client timeouts, for each HTTP server `ztd serve` can run.

Without them one request with 100 MB of headers costs the process gigabytes, and a few
dozen clients trickling a header or a body one byte at a time hold connections forever.
The limits are settings (``ZTD_MAX_URL_BYTES``, ``ZTD_MAX_HEADER_BYTES``,
``ZTD_MAX_HEADER_COUNT``, ``ZTD_HEADER_TIMEOUT_SECONDS``, ``ZTD_BODY_TIMEOUT_SECONDS``,
``ZTD_KEEP_ALIVE_SECONDS``; see README) and each server enforces them at its narrowest seam:

* uvicorn: its httptools protocol has no header limits, so `LimitedHttpToolsProtocol`
  feeds the parser at most a bounded head, refuses with 414/431 and closes, and runs the
  header, body and keep-alive timers per connection;
* granian: hyper already bounds the head (``max_buffer_size``, 100 header fields, 64 KiB
  URIs) and times out header reads (which covers idle keep-alive connections too);
  `granian_http1_settings` sets those from the limits and `RequestLimits` adds what hyper
  lacks: the exact URL, header count and header bytes settings, and the body timeout.

Nothing here costs the fast path more than a few comparisons per request: the timers are
only armed when a head or a body does not arrive in one read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ztd.server.api.errors import SOURCE
from ztd.server.errors import BodyTooSlow
from ztd.server.settings import Settings

log = logging.getLogger("ztd.server.http")

# The request line's method, spaces and version, beyond the URL itself.
REQUEST_LINE_SLACK = 1024

# `uvicorn.run(http=...)` takes an import string, which survives `--workers N` (spawn).
UVICORN_PROTOCOL = "ztd.server.http_limits:LimitedHttpToolsProtocol"


@dataclass(frozen=True)
class HttpLimits:
    max_url_bytes: int
    max_header_bytes: int
    max_header_count: int
    header_timeout: float  # from the first byte of a request (or the connection) to its head
    body_timeout: float  # from the end of the head to the end of the body
    keep_alive: float  # idle time between requests on one connection

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_url_bytes=settings.max_url_bytes,
            max_header_bytes=settings.max_header_bytes,
            max_header_count=settings.max_header_count,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            keep_alive=settings.keep_alive_seconds,
        )

    @property
    def max_head_bytes(self) -> int:
        """The most a server buffers of one request line and its headers."""
        return self.max_url_bytes + self.max_header_bytes + REQUEST_LINE_SLACK

    def url_too_long(self) -> str:
        return (
            f"The request URL exceeds {self.max_url_bytes} bytes (ZTD_MAX_URL_BYTES); "
            "send a shorter path and query."
        )

    def too_many_headers(self) -> str:
        return (
            f"The request has more than {self.max_header_count} header fields "
            "(ZTD_MAX_HEADER_COUNT); send fewer headers."
        )

    def headers_too_large(self) -> str:
        return (
            f"The request headers exceed {self.max_header_bytes} bytes (ZTD_MAX_HEADER_BYTES); "
            "send fewer or smaller headers."
        )

    def head_too_slow(self) -> str:
        return (
            f"The request line and headers did not arrive within {self.header_timeout:g} s "
            "(ZTD_HEADER_TIMEOUT_SECONDS)."
        )

    def body_too_slow(self) -> str:
        return (
            f"The request body did not arrive within {self.body_timeout:g} s "
            "(ZTD_BODY_TIMEOUT_SECONDS)."
        )


@functools.cache
def limits_from_env() -> HttpLimits:
    """Read once per process: every connection of a server shares them."""
    return HttpLimits.from_settings(Settings())


def refusal(status: int, description: str) -> bytes:
    """A whole response that ends the connection, in Partner Center's error body."""
    body = orjson.dumps(
        {"code": str(status), "description": description, "data": [], "source": SOURCE}
    )
    return b"".join(
        (
            STATUS_LINE[status],
            b"content-type: application/json; charset=utf-8\r\n",
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body),
            body,
        )
    )


class _Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded heads and slow-client timers.

    The parser buffers a header field until it ends, and uvicorn collects the URL and every
    header: so the parser is never fed more than `HttpLimits.max_head_bytes` of one head,
    and a head still unfinished by then is refused. URL length, header count and header
    bytes are checked once the head is complete."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = limits_from_env()
        self.limits = limits
        self.timeout_keep_alive = limits.keep_alive  # type: ignore[assignment]  # a float works
        self._max_head = limits.max_head_bytes
        self._in_head = True  # waiting for, or reading, a request line and headers
        self._in_body = False  # the head is complete, the body is not
        self._head_bytes = 0  # received since this head began (may include body bytes)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that never sends a byte is timed out as a slow head.
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        room = self._max_head - self._head_bytes
        if self._in_head and len(data) > room:
            # Feed no more than the head may hold; the rest waits for the head's end.
            self._receive(data[:room])
            if self.transport.is_closing():
                return
            if self._in_head:
                self._refuse(*self._head_too_large())
                return
            data = data[room:]
            if data:
                self.data_received(data)  # the body, or the next pipelined head
            return
        self._receive(data)

    def _receive(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused.status, refused.description)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        # Timers only for heads and bodies split across reads: the usual request needs none.
        if self._in_head:
            if self._head_bytes and self._head_timer is None:
                self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_late)
        elif self._in_body and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_late)

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.url) > limits.max_url_bytes:
            raise _Refused(414, limits.url_too_long())
        if len(self.headers) > limits.max_header_count:
            raise _Refused(431, limits.too_many_headers())
        # Summed only when this head's reads could hold that much.
        if self._head_bytes > limits.max_header_bytes and (
            sum(len(name) + len(value) + 4 for name, value in self.headers)
            > limits.max_header_bytes
        ):
            raise _Refused(431, limits.headers_too_large())
        self._in_head = False
        self._in_body = True
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._in_body = False
        self._head_bytes = 0
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _head_too_large(self) -> tuple[int, str]:
        # The parser hands the URL over as it arrives, header fields only once they end.
        if len(getattr(self, "url", b"")) > self.limits.max_url_bytes:
            return 414, self.limits.url_too_long()
        return 431, self.limits.headers_too_large()

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(408, self.limits.head_too_slow())
        else:  # connected and silent: nobody to answer
            self.transport.close()

    def _body_late(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_started:
            self._refuse(408, self.limits.body_too_slow())
        else:  # answered already (e.g. 401 before reading): stop waiting for the rest
            self.transport.close()

    def _refuse(self, status: int, description: str) -> None:
        self._cancel_timers()
        if self.client:
            self.logger.warning("%s:%d - %d %s", *self.client, status, description)
        self.transport.write(refusal(status, description))
        self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


def granian_http1_settings(limits: HttpLimits) -> Any:
    """hyper's own bounds: the head's buffer (431 past it), and the header read timeout,
    which hyper also applies to a keep-alive connection waiting for its next request."""
    from granian.http import HTTP1Settings

    return HTTP1Settings(
        header_read_timeout=max(1, round(limits.header_timeout * 1000)),
        keep_alive=True,
        max_buffer_size=max(8192, limits.max_head_bytes),  # hyper's minimum is 8192
    )


class RequestLimits:
    """What hyper does not check, for granian: the URL length, header count and header
    bytes settings exactly (hyper caps at 100 fields, 64 KiB URIs and its buffer), and the
    body timeout, which answers 408 through the app's own error handling."""

    def __init__(self, app: ASGIApp, limits: HttpLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        if len(scope["raw_path"]) + len(scope["query_string"]) > limits.max_url_bytes:
            await _send_refusal(send, 414, limits.url_too_long())
            return
        headers = scope["headers"]
        if len(headers) > limits.max_header_count:
            await _send_refusal(send, 431, limits.too_many_headers())
            return
        # hyper's buffer may take in up to one more read past max_buffer_size.
        if header_bytes(headers) > limits.max_header_bytes:
            await _send_refusal(send, 431, limits.headers_too_large())
            return
        await self.app(scope, _deadline_receive(receive, limits), send)


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    """The size of the header fields as sent ("name: value\r\n"). A plain loop: on every
    request, and about a third cheaper than sum() over a generator."""
    total = 4 * len(headers)
    for name, value in headers:
        total += len(name) + len(value)
    return total


def _deadline_receive(receive: Receive, limits: HttpLimits) -> Receive:
    deadline: float | None = None

    async def receive_in_time() -> Message:
        nonlocal deadline
        loop = asyncio.get_running_loop()
        if deadline is None:  # the first read of the body starts its clock
            deadline = loop.time() + limits.body_timeout
        try:
            async with asyncio.timeout_at(deadline):
                return await receive()
        except TimeoutError:
            raise BodyTooSlow(limits.body_too_slow()) from None

    return receive_in_time


async def _send_refusal(send: Send, status: int, description: str) -> None:
    body = orjson.dumps(
        {"code": str(status), "description": description, "data": [], "source": SOURCE}
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", b"%d" % len(body)),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_granian_app() -> ASGIApp:
    """The factory `ztd serve --server granian` runs: the app behind `RequestLimits`."""
    from ztd.server.app import create_app_from_env

    return RequestLimits(create_app_from_env(), limits_from_env())
