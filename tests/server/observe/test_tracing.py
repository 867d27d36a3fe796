"""Tracing (ztd[otel]): off unless OTEL_* variables ask for it; on, a request and the
worker's chunk spans share one trace through the traceparent stored with the job."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from tests.support.api import create_batch, hash_device
from tests.support.world import World
from ztd.server.api.middleware import PartnerCenterHeaders
from ztd.server.app import create_app
from ztd.server.emulator.gate import EmulatorGate
from ztd.server.jobs.worker import Worker
from ztd.server.observe import tracing
from ztd.server.settings import Settings
from ztd.server.status_reads.lane import StatusLane
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs


@pytest.mark.parametrize("backend", ["sqlite"])
def test_off_without_otel_variables(
    db: Database, settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not tracing.wanted()
    app = create_app(settings, db=db, embedded_worker=False)
    # Nothing of OpenTelemetry wraps the request path: the emulator's gate (on by default),
    # then the status lane, then Partner Center's headers, and nothing else outside them.
    entry = app.entry
    assert isinstance(entry, EmulatorGate)
    assert isinstance(entry.app, StatusLane) and isinstance(entry.app.app, PartnerCenterHeaders)
    with TestClient(app) as client:
        tracking = create_batch(client, world.customer, world.auth(), "untraced", [hash_device(1)])
    with db.read() as conn:
        stored = conn.execute(select(batch_jobs.c.traceparent).where(batch_jobs.c.id == tracking))
        assert stored.scalar() is None or tracing.active()


@pytest.mark.parametrize(
    "setting", [{"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_SDK_DISABLED": "true"}]
)
def test_switched_off_explicitly(monkeypatch: pytest.MonkeyPatch, setting: dict[str, str]) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    assert not tracing.wanted()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_request_and_worker_spans_share_a_trace(
    db: Database, settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first test to turn tracing on
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")  # asks for traces; ours collects
    app = create_app(settings, db=db, embedded_worker=False)
    with TestClient(app) as client:
        tracking = create_batch(client, world.customer, world.auth(), "traced", [hash_device(1)])
    Worker(db, settings).run_until_idle()

    spans = exporter.get_finished_spans()
    upload = [s for s in spans if s.name == "POST /v1/customers/{customer_id}/deviceBatches"]
    chunks = [s for s in spans if s.name == "ztd.chunk"]
    assert len(upload) == 1 and len(chunks) == 1
    trace_id = upload[0].context.trace_id
    assert chunks[0].context.trace_id == trace_id  # the worker's span joins the request's
    # The chunk's database calls are its children, in that trace too.
    sql = [s for s in spans if s.attributes and s.attributes.get("db.system")]
    children = [s for s in sql if s.parent and s.parent.span_id == chunks[0].context.span_id]
    assert children and all(s.context.trace_id == trace_id for s in children)
    with db.read() as conn:
        stored = conn.execute(select(batch_jobs.c.traceparent).where(batch_jobs.c.id == tracking))
        assert f"-{trace_id:032x}-" in stored.scalar()
