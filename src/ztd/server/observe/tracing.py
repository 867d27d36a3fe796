"""OpenTelemetry tracing, optional: installed with ``ztd[otel]`` and on only when the
standard ``OTEL_*`` variables ask for an exporter. Then the ASGI app, SQLAlchemy and httpx
are instrumented, and a job stores its request's trace context (W3C ``traceparent``) so
the worker's chunk spans join the request's trace.

Off, none of this is imported and nothing on a request's path changes.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import ASGIApp

# Any of these names an exporter; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
# turns tracing off whatever else is set.
_EXPORTER_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
_state = {"on": False}


def wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "none":
        return False
    return any(os.environ.get(name) for name in _EXPORTER_VARIABLES)


def active() -> bool:
    return _state["on"]


def setup(engines: list[Engine]) -> bool:
    """Turn tracing on if the environment asks for it (once per process); instrument the
    engines and httpx. Says whether tracing is on."""
    if not wanted():
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    except ImportError as exc:
        raise RuntimeError(
            "OTEL_* variables ask for traces, but OpenTelemetry is not installed: "
            "pip install 'ztd[otel]', or unset them."
        ) from exc
    if not _state["on"]:
        if not _has_sdk_provider(trace.get_tracer_provider()):
            trace.set_tracer_provider(_provider_from_env())
        HTTPXClientInstrumentor().instrument()
        _state["on"] = True
    for engine in engines:
        # skip_dep_check: the instrumentor's declared range lags SQLAlchemy's releases (2.1);
        # it works through the engine's public events.
        SQLAlchemyInstrumentor().instrument(engine=engine, skip_dep_check=True)
    return True


def _has_sdk_provider(provider: object) -> bool:
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(provider, TracerProvider)


def _provider_from_env() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    service = os.environ.get("OTEL_SERVICE_NAME", "ztd")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporters = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")
    for name in (e.strip() for e in exporters):
        exporter: SpanExporter
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_* say where
        else:
            raise RuntimeError(f"OTEL_TRACES_EXPORTER={name!r}: ztd knows otlp, console, none")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_asgi(app: ASGIApp) -> ASGIApp:
    """FastAPI from 0.16x traces requests itself once a tracer provider is set (its server
    span would not nest under another middleware's): older ones get the contrib ASGI
    middleware. Either way, fast-lane status polls are not traced."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app)


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, to store with a job (None when off)."""
    if not _state["on"]:
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def job_span(name: str, traceparent: str | None, **attributes: str) -> Iterator[None]:
    """A span for a worker's step, child of the request that submitted the job."""
    if not _state["on"]:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    parent = extract({"traceparent": traceparent}) if traceparent else None
    tracer = trace.get_tracer("ztd.worker")
    with tracer.start_as_current_span(name, context=parent, attributes=attributes):
        yield
