"""The ASGI application factory."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from ztd.server import console, heap
from ztd.server.api import openapi
from ztd.server.api.context import AppContext
from ztd.server.api.errors import domain_error_response, error_response
from ztd.server.api.middleware import PartnerCenterHeaders
from ztd.server.api.routes import (
    batch_status,
    customers,
    device_batches,
    health,
    issuer,
    metrics,
    policies,
    webhooks,
)
from ztd.server.auth.attempt_limits import AttemptLimits
from ztd.server.auth.key_stores import open_key_store
from ztd.server.auth.secret_pool import SecretPool
from ztd.server.auth.tokens import TokenValidator
from ztd.server.clock import Clock, utc_now
from ztd.server.emulator import install as emulator
from ztd.server.errors import DomainError, InvalidRequest, cut
from ztd.server.jobs.worker import Worker, WorkerThread
from ztd.server.observe import logs, tracing
from ztd.server.observe.http import RequestObserver
from ztd.server.settings import Settings
from ztd.server.status_reads.lane import StatusLane
from ztd.server.storage.database import Database

log = logging.getLogger("ztd.server")


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    embedded_worker: bool | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    settings = settings or Settings()
    db = db or Database(settings.resolved_database_url)
    keys = open_key_store(settings, db)
    ctx = AppContext(
        settings=settings,
        db=db,
        keys=keys,
        tokens=TokenValidator(settings, keys),
        token_attempts=AttemptLimits(
            settings.token_attempts_per_address, settings.token_attempts_per_client
        ),
        secret_pool=SecretPool(settings.token_hash_workers, settings.token_hash_queue),
        clock=clock,
    )
    if embedded_worker is None:
        embedded_worker = settings.embedded_worker

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        keys.keys()  # load the signing keys now, not on the first request (~50 ms)
        draining = health.watch_for_drain(_app)
        if settings.control_plane:  # the emulator's controls, before the first request
            _app.state.emulator.cache.refresh_or_keep()
        worker_thread = None
        if embedded_worker:
            worker = Worker(
                db, settings, clock=clock, wakeup=ctx.wakeup, webhook_wakeup=ctx.webhook_wakeup
            )
            worker_thread = WorkerThread(worker)
            worker_thread.start()
        try:
            yield
        finally:
            draining.set()
            if worker_thread is not None:
                worker_thread.shutdown()
            ctx.secret_pool.close()

    app = ZtdApp(
        title="ztd: Partner Center device deployment",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: openapi.install, with assets served offline
        redoc_url=None,
        dependencies=[Depends(_no_nul_in_path)],
    )
    app.state.ztd = ctx
    for router in (
        health.router,
        issuer.router,
        customers.router,
        device_batches.router,
        batch_status.router,
        policies.router,
        metrics.router,
        webhooks.router,
    ):
        app.include_router(router)
    openapi.install(app)
    console.mount(app)
    _install_error_handlers(app)
    # Outside FastAPI's own middleware stack: every response, errors included, gets Partner
    # Center's headers; the observer binds the log context, counts and times.
    headers = PartnerCenterHeaders(
        RequestObserver(functools.partial(FastAPI.__call__, app)), server_id=settings.server_id
    )
    # Outside those: a cached status poll pays for neither (it stamps the same headers).
    app.entry = StatusLane(headers, ctx.status_reads, ctx.tokens, stamp=headers.stamp_ids)
    if settings.control_plane:
        app.entry = emulator.install(app, ctx, app.entry)
    if tracing.setup([db.write_engine, db.read_engine]):  # OTEL_* variables, ztd[otel]
        app.entry = tracing.instrument_asgi(app.entry)
    return app


class ZtdApp(FastAPI):
    """FastAPI, entered through ztd's wire-level layers (headers, path case, fast status)."""

    entry: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.entry(scope, receive, send)


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and granian: what `ztd serve` runs in each process."""
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    app = create_app(settings)
    heap.settle()  # the app and everything it imported stay for the life of the process
    return app


async def _no_nul_in_path(request: Request) -> None:
    """A "%00" in a path segment (a batch or device id) would reach the database as a NUL,
    which PostgreSQL refuses with an error: answer 400 for every route instead. Async: a
    plain function would cost every request a trip through the shared thread pool."""
    if "\x00" in request.scope["path"]:
        raise InvalidRequest("The path contains a NUL character (%00).")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> Response:
        return domain_error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, "1000", f"No resource at {cut(request.url.path, 200)}.")
        if exc.status_code == 405:
            allowed = allowed_methods(app, request.scope)
            path = cut(request.url.path, 200)
            description = f"{request.method} is not allowed on {path}; allowed: {allowed}."
            return error_response(405, "405", description, headers={"Allow": allowed})
        return error_response(exc.status_code, str(exc.status_code), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return error_response(400, "800002", "Invalid request: " + "; ".join(problems), problems)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client left, or the server closed a body that came too slowly
        # (ZTD_BODY_TIMEOUT_SECONDS): nobody reads this answer, and it is no service error.
        log.info(
            "client closed the connection before sending its whole request: %s %s",
            request.method,
            cut(request.url.path, 200),
        )
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        # Starlette re-raises after this answer, and the server then drops the connection:
        # say so, or a keep-alive client sends its next request into a closed socket.
        return error_response(
            500,
            "800003",
            "Unexpected service error; it has been logged.",
            headers={"Connection": "close"},
        )


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> str:
    """The Allow header for a 405 (RFC 9110, section 15.5.6): every method some route
    takes at this path, not only those of the first route Starlette tried. Asked of the
    routes themselves (``matches``), so included routers answer for their own routes."""
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**scope, "method": method})[0] == Match.FULL
            for route in app.router.routes
        )
    )
