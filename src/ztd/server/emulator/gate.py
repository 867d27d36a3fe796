"""The one outer ASGI layer of the emulator: hides ``/_ztd/`` from all but operator tokens
and answers injected HTTP faults. While no fault is set a request costs it a clock read.

Its own answers (a hidden path's 404, a throttled 429, an injected fault, a throttling
storage that fails) pass through the same headers and observer layers as the app's: each
gets Partner Center's headers, one ``ztd.access`` line and its count in the metrics."""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
import time
from collections.abc import Callable
from time import monotonic

import anyio.to_thread
import orjson
from sqlalchemy import delete, update
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ztd.server.api.errors import error_response
from ztd.server.api.middleware import PartnerCenterHeaders, canonical_path
from ztd.server.auth.tokens import InvalidToken, Principal, Role, TokenValidator
from ztd.server.emulator.cache import REFRESH_SECONDS, StoredFault
from ztd.server.emulator.control import Emulator
from ztd.server.emulator.journal import Entry
from ztd.server.emulator.routes import template_of
from ztd.server.emulator.specs import ThrottleSpec, tenant_key
from ztd.server.emulator.throttle import Verdict
from ztd.server.observe.http import ROUTE_TEMPLATE, RequestObserver
from ztd.server.storage.schema import emulator_faults

log = logging.getLogger("ztd.server")

CONTROL_PREFIX = "/_ztd/"
PROBES = frozenset({"/healthz", "/readyz"})
# The web console is the operator's way to clear a fault, and its forms carry tokens and
# client secrets: never faulted, throttled or journaled (its own API calls, in process, do
# not pass this layer either).
CONSOLE_PREFIX = "/console"
# A failing throttle storage fails every throttled request: one warning per this many
# seconds, with the count of the others.
WARN_SECONDS = 10.0


class EmulatorGate:
    def __init__(
        self,
        app: ASGIApp,
        emulator: Emulator,
        tokens: TokenValidator,
        server_id: str,
        *,
        control_plane: bool,
        journal_always: bool,
    ) -> None:
        self.app = app
        self.emulator = emulator
        self.cache = emulator.cache
        self.tokens = tokens
        self.control_plane = control_plane
        self.journal_always = journal_always
        # Canned answers get Partner Center's headers, the log context, the access line and
        # the metrics from the same layers real ones do (app.py builds the app's the same).
        self.canned = PartnerCenterHeaders(
            RequestObserver(self._answer_from_scope), server_id=server_id
        )
        self._warned_at = -WARN_SECONDS
        self._unwarned = 0  # storage failures since the last warning

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_") and path[:6].lower() == CONTROL_PREFIX:
            if not self.control_plane or not _is_operator(self.tokens, scope):
                # Labelled as a path nobody serves (``unmatched``): the metrics must not
                # tell the control plane is there either.
                await self._answer(scope, receive, send, missing(path), routed=False)
                return
            await self.app(scope, receive, send)
            return
        if path in PROBES or path.startswith(CONSOLE_PREFIX):
            # Probes stay cheap: no controls, no journal, no throttling. The console: above.
            await self.app(scope, receive, send)
            return
        cache = self.cache
        if monotonic() - cache.loaded_at > REFRESH_SECONDS:  # inline: this is the hot path
            await cache.refresh_if_stale()
        if cache.faults or self.journal_always or cache.throttling is not None:
            await self._emulated(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _emulated(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry: Entry | None = None
        if self.journal_always:
            entry, receive, send = self._journaled(scope, receive, send)
        try:
            throttling = self.cache.throttling
            if throttling is not None and scope["path"][:4].lower() == "/v1/":
                try:
                    verdict = await self._throttle(scope, throttling)
                except Exception as exc:  # the storage: refused, timed out, a database error
                    await self._answer(scope, receive, send, self._storage_failed(exc))
                    return
                if verdict is not None and throttling.rate_limit_headers:
                    send = _with_rate_limit_headers(send, verdict)  # on 429s too
                if verdict is not None and not verdict.allowed:
                    await self._answer(scope, receive, send, throttled(verdict.reset_after))
                    return
            fault = await self._fault_for(scope) if self.cache.faults else None
            if fault is not None and fault.spec.latency_ms:
                await asyncio.sleep(fault.spec.latency_ms / 1000)
            if fault is not None and fault.spec.status is not None:
                if entry is not None:
                    entry.fault_id = fault.id
                await self._answer(scope, receive, send, fault_response(fault))
            else:
                await self.app(scope, receive, send)
        finally:
            if entry is not None and not entry.stored:  # no complete answer was sent
                await self._store(scope, entry)

    async def _store(self, scope: Scope, entry: Entry) -> None:
        entry.stored = True
        entry.duration_ms = round((time.perf_counter() - entry.started) * 1000)
        principal = _principal(self.tokens, scope)
        entry.partner_id = principal.partner_id if principal else None
        await anyio.to_thread.run_sync(self._record, entry)

    def _journaled(self, scope: Scope, receive: Receive, send: Send) -> tuple[Entry, Receive, Send]:
        sent: str = scope["path"]  # recorded as the client wrote it: what a test asserts on
        entry = Entry(
            at=self.emulator.clock(),
            method=scope["method"],
            path=sent,
            customer_id=_customer_of(canonical_path(sent)),
            started=time.perf_counter(),
        )

        async def receive_noting() -> Message:
            message = await receive()
            if message["type"] == "http.request" and message.get("body"):
                entry.take_body(message["body"])
            return message

        async def send_noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"ms-requestid":
                        entry.request_id = value.decode("latin-1")
                    elif name == b"ms-correlationid":
                        entry.correlation_id = value.decode("latin-1")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Stored before the last byte leaves: a client holding its answer can read
                # its own entry back (a test asserting on the journal right after a call).
                await self._store(scope, entry)
            await send(message)

        return entry, receive_noting, send_noting

    async def _throttle(self, scope: Scope, spec: ThrottleSpec) -> Verdict | None:
        principal = _principal(self.tokens, scope)
        if principal is None:  # refused anyway (401)
            return None
        customer = _customer_of(canonical_path(scope["path"]))
        return await self.emulator.throttler.check(spec, principal.partner_id, customer)

    def _storage_failed(self, exc: Exception) -> Response:
        """503 in Partner Center's error shape, saying which storage and what to do; a
        warning at most every WARN_SECONDS (it fails every throttled request alike)."""
        throttler = self.emulator.throttler
        throttler.failed(exc)
        self._unwarned += 1
        now = monotonic()
        if now - self._warned_at >= WARN_SECONDS:
            log.warning(
                "throttling storage ZTD_THROTTLE_STORAGE=%s failed (%s answered 503 since the "
                "last such warning, at most one every %g s): %s: %s",
                throttler.shown,
                "1 request" if self._unwarned == 1 else f"{self._unwarned} requests",
                WARN_SECONDS,
                type(exc).__name__,
                throttler.without_secrets(str(exc)),
            )
            self._warned_at = now
            self._unwarned = 0
        return error_response(503, "503", throttler.unavailable())

    def _record(self, entry: Entry) -> None:
        try:
            with self.emulator.db.write() as conn:
                self.emulator.journal.record(conn, entry)
        except Exception as exc:  # the answer is sent already; a lost entry is only logged
            log.warning("request journal: entry not stored: %s", exc)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, response: Response, routed: bool = True
    ) -> None:
        """Answer ``response`` through the headers and observer layers; ``routed``: count it
        under the template of the route the app would have taken."""
        scope["ztd.answer"] = response, routed
        await self.canned(scope, receive, send)

    async def _answer_from_scope(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        response, routed = scope["ztd.answer"]
        if routed:  # the path is canonical here (the headers layer), as the router sees it
            scope[ROUTE_TEMPLATE] = template_of(scope["method"], scope["path"])
        await response(scope, receive, send)

    async def _fault_for(self, scope: Scope) -> StoredFault | None:
        path = canonical_path(scope["path"])
        method = scope["method"]
        principal: Callable[[], Principal | None] = lambda: _principal(self.tokens, scope)  # noqa: E731
        for fault in self.cache.faults:
            spec = fault.spec
            if spec.method is not None and spec.method.upper() != method:
                continue
            if fault.route is not None and not fault.route.matches(method, path):
                continue
            if spec.path is not None and not fnmatch.fnmatchcase(path, spec.path):
                continue
            if spec.customer_id is not None and _customer_of(path) != spec.customer_id:
                continue
            if spec.partner_id is not None:
                who = principal()
                if who is None or tenant_key(who.partner_id) != spec.partner_id:
                    continue
            if spec.probability is not None and random.random() >= spec.probability:
                continue
            if spec.count is None and spec.nth is None:
                return fault
            if await anyio.to_thread.run_sync(self._count_call, fault):
                return fault
        return None

    def _count_call(self, fault: StoredFault) -> bool:
        """Count one more matching call across all processes; whether this one fires."""
        f = emulator_faults.c
        with self.emulator.db.write() as conn:
            seen = conn.execute(
                update(emulator_faults)
                .where(f.id == fault.id)
                .values(seen=f.seen + 1)
                .returning(f.seen)
            ).scalar_one_or_none()  # type: int | None
            if seen is None:  # deleted meanwhile
                return False
            spec = fault.spec
            done = seen >= (spec.count or spec.nth or 0)
            if done:
                conn.execute(delete(emulator_faults).where(f.id == fault.id))
        if done:
            self.cache.invalidate()
        return seen <= spec.count if spec.count is not None else seen == spec.nth


def missing(path: str) -> Response:
    """Exactly what a path nobody serves gets (the app's 404 handler)."""
    return error_response(404, "1000", f"No resource at {path}.")


def throttled(wait: int) -> Response:
    """The answer and body Partner Center documents for throttling (Retry-After: seconds)."""
    body = {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {wait} seconds."}
    return Response(
        orjson.dumps(body),
        status_code=429,
        media_type="application/json",
        headers={"Retry-After": str(wait)},
    )


def _with_rate_limit_headers(send: Send, verdict: Verdict) -> Send:
    extra = [
        (b"ratelimit-limit", str(verdict.limit).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset_after).encode()),
    ]

    async def send_with(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return send_with


def fault_response(fault: StoredFault) -> Response:
    spec = fault.spec
    status = spec.status or 500
    if status == 429:
        return throttled(1 if spec.retry_after is None else spec.retry_after)
    headers = {"Retry-After": str(spec.retry_after)} if spec.retry_after is not None else None
    return error_response(
        status, str(status), f"Injected fault {fault.id} (ztd emulator).", headers=headers
    )


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _principal(tokens: TokenValidator, scope: Scope) -> Principal | None:
    token = _bearer(scope)
    if token is None:
        return None
    try:
        return tokens.validate(token)
    except InvalidToken:
        return None


def _is_operator(tokens: TokenValidator, scope: Scope) -> bool:
    principal = _principal(tokens, scope)
    return principal is not None and Role.OPERATOR in principal.roles


def _customer_of(path: str) -> str | None:
    """The customer a /v1/customers/{id}/... path acts for, spelled as stored (the API reads
    braced, upper-case and unhyphenated GUIDs as the same customer, so throttling buckets,
    faults and the journal must too)."""
    parts = path.split("/")  # "", v1, customers, {id}, ...
    if len(parts) > 3 and parts[1] == "v1" and parts[2] == "customers":
        return tenant_key(parts[3])
    return None
