"""The edge of a request routed through the framework: binds what the request is about to
the log context, counts and times it by route template, and writes one access line.

The status fast lane answers before reaching this layer; it counts its answers itself
(``fast_status_counter``) and writes no access line, which would cost more than the answer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from prometheus_client.metrics import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ztd.server.observe import logs
from ztd.server.observe.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS
from ztd.server.storage import widths

access_log = logging.getLogger("ztd.access")

# The ids PartnerCenterHeaders echoes or generates, handed over in the ASGI scope.
CORRELATION_ID = "ztd.correlation_id"
REQUEST_ID = "ztd.request_id"
STATUS_ROUTE = "/v1/customers/{customer_id}/batchJobStatus/{tracking_id}"
UNMATCHED = "unmatched"  # 404s and anything no route took: raw paths would be unbounded
# The template of a request answered before the router saw it (the emulator's gate), which
# the router would have handed to that route: counted and logged under it.
ROUTE_TEMPLATE = "ztd.route_template"
_CUSTOMERS = "/v1/customers/"
# A client's correlation id is bounded before it is logged or stored.
_MAX_ID = widths.CORRELATION_ID


# How late the fast lane's answers may reach the Prometheus counter of another process's
# scrape; a scrape by this process sees them at once (``flush_answer_counts``).
ANSWER_FLUSH_SECONDS = 0.5


class AnswerCount:
    """The fast lane's answers of one status code, added to the route's Prometheus counter
    in batches. In multiprocess mode (several server processes) every ``inc`` takes a lock,
    asks the kernel for the pid and writes a memory-mapped file: about as much as the rest
    of the fast lane's own work, for one number. Counted here as a plain integer instead,
    flushed ANSWER_FLUSH_SECONDS after the first unflushed answer and before a scrape.

    ``add`` is called on the event loop, its only writer; ``flush`` from anywhere."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.total = 0  # answers counted, ever (written only by ``add``)
        self._flushed = 0  # of those, added to the counter (written only under the lock)
        self._scheduled = False
        self._lock = threading.Lock()
        _ANSWER_COUNTS.append(self)

    def add(self) -> None:
        self.total += 1
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(ANSWER_FLUSH_SECONDS, self._flush_later)

    def _flush_later(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        with self._lock:
            total = self.total
            if total != self._flushed:
                self.counter.inc(total - self._flushed)
                self._flushed = total


_ANSWER_COUNTS: list[AnswerCount] = []


def fast_status_counter(status: int) -> AnswerCount:
    """The count the fast lane adds its answers with ``status`` to: the route's counter."""
    return AnswerCount(HTTP_REQUESTS.labels(route=STATUS_ROUTE, method="GET", status=str(status)))


def flush_answer_counts() -> None:
    """Before this process renders its metrics: every answer counted so far is in them."""
    for count in _ANSWER_COUNTS:
        count.flush()


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (route, method, status) -> counter child, and route -> histogram child: label
        # lookups take a lock and build a tuple; these take a dict probe.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[str, Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        context = {}
        correlation_id = scope.get(CORRELATION_ID)
        if correlation_id:
            context["correlation_id"] = correlation_id[:_MAX_ID].decode("latin-1")
        request_id = scope.get(REQUEST_ID)
        if request_id:
            context["request_id"] = request_id[:_MAX_ID].decode("latin-1")
        path: str = scope["path"]
        if path.startswith(_CUSTOMERS):
            context["customer_id"] = path[len(_CUSTOMERS) :].partition("/")[0][:_MAX_ID]
        token = logs.enter(context)
        try:
            await self.app(scope, receive, send_observed)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            logs.leave(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template: str = (
            getattr(route, "path_format", None) or scope.get(ROUTE_TEMPLATE) or UNMATCHED
        )
        method: str = scope["method"]
        key = (template, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = HTTP_REQUESTS.labels(template, method, str(status))
        counter.inc()
        timer = self._timers.get(template)
        if timer is None:
            timer = self._timers[template] = HTTP_REQUEST_DURATION.labels(template)
        timer.observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %d",
                method,
                template,
                status,
                extra={"route": template, "status": status, "duration_ms": round(seconds * 1e3, 2)},
            )
