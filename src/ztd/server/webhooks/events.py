"""Recording events: inside the transaction that caused them (the outbox), so an event
exists exactly when its cause committed. Delivery happens later, from the worker, and never
before the status URL shows what a job's event announces (an emulator hold: see
:mod:`.held_events`).

When the partner has no active subscription, recording costs one indexed query."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, insert, select

from ztd.server.clock import wire_time
from ztd.server.emulator import holds
from ztd.server.observe import logs
from ztd.server.storage.schema import (
    batch_jobs,
    device_batches,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from ztd.server.webhooks import catalog
from ztd.wire.paths import resource_path

if TYPE_CHECKING:
    from ztd.server.jobs.finishing import FinishedJob

ACTIVE = "active"
_subs = webhook_subscriptions.c


def new_event_id() -> str:
    """A webhook-id: unique per event, the same on every attempt and to every endpoint."""
    return f"msg_{uuid.uuid4().hex}"


def record_job_completed(conn: Connection, job: FinishedJob) -> None:
    """The job-finished hook (``jobs.finishing.on_job_finished``): the job's
    ``*.job.completed`` event, stored in the transaction that finished it."""
    job_finished(conn, job.job_id, job.completed_at)


def job_finished(conn: Connection, job_id: str, now: datetime) -> None:
    """Record the ``*.job.completed`` event of a job that just finished, in the transaction
    that finished it. Call only once the job's final document is stored. Its deliveries are
    due when status reads show the finish: now, or when an emulator hold ends."""
    listeners = conn.execute(
        select(_subs.id, _subs.channel, _subs.events, batch_jobs.c.kind, batch_jobs.c.partner_id)
        .join(batch_jobs, batch_jobs.c.partner_id == _subs.partner_id)
        .where(batch_jobs.c.id == job_id, _subs.status == ACTIVE)
    ).all()
    if not listeners:
        return
    event_type = catalog.JOB_EVENT_OF_KIND.get(listeners[0].kind)
    wanted = [row for row in listeners if event_type in orjson.loads(row.events)]
    if event_type is None or not wanted:
        return
    job = conn.execute(
        select(batch_jobs, device_batches.c.batch_id)
        .outerjoin(device_batches, device_batches.c.pk == batch_jobs.c.batch_pk)
        .where(batch_jobs.c.id == job_id)
    ).one()
    shown = holds.shown_at(conn, job_id, now)
    record(
        conn, job.partner_id, event_type, job_data(job), now, wanted, due=shown, held=shown is None
    )


def job_data(job: Any) -> dict[str, Any]:
    """A finished job's event data; its counts are read from its stored status document, so
    they match what a poll of the job shows."""
    document = orjson.loads(job.result_document or b"{}")
    devices = document.get("devicesStatus", [])
    # Keyed by code, or by name where Microsoft published no number (ZtdDeviceDuplicated).
    errors = [d.get("errorCode") or d.get("errorDescription") for d in devices]
    by_code = Counter(str(error) for error in errors if error)
    failed = sum(by_code.values())
    data: dict[str, Any] = {
        "trackingId": job.id,
        "customerId": job.customer_id,
        "status": document.get("status", job.status),
        "deviceCount": len(devices),
        "outcomes": {
            "succeeded": len(devices) - failed,
            "failed": failed,
            "byErrorCode": dict(sorted(by_code.items())),
        },
        "statusUrl": resource_path("v1", "customers", job.customer_id, "batchJobStatus", job.id),
    }
    if getattr(job, "batch_id", None) is not None:
        data["batchId"] = job.batch_id
    for name in ("startedTime", "completedTime"):
        if name in document:
            data[name] = document[name]
    if job.correlation_id:
        data["correlationId"] = job.correlation_id
    return data


def batch_created(
    conn: Connection, partner_id: str | None, customer_id: str, batch_id: str, now: datetime
) -> None:
    """Record ``devicebatch.created`` in the transaction creating the batch, with the
    request's MS-CorrelationId. No partner (a batch made outside a request): no event."""
    wanted = [] if partner_id is None else listening(conn, partner_id, catalog.BATCH_CREATED)
    if partner_id is None or not wanted:
        return
    data = {"batchId": batch_id, "customerId": customer_id, "createdTime": wire_time(now)}
    correlation_id = logs.current().get("correlation_id")
    if correlation_id:
        data["correlationId"] = str(correlation_id)
    record(conn, partner_id, catalog.BATCH_CREATED, data, now, wanted)


def listening(conn: Connection, partner_id: str, event_type: str) -> list[Any]:
    """The partner's active subscriptions to ``event_type`` (rows with id and channel)."""
    rows = conn.execute(
        select(_subs.id, _subs.channel, _subs.events).where(
            _subs.partner_id == partner_id, _subs.status == ACTIVE
        )
    ).all()
    return [row for row in rows if event_type in orjson.loads(row.events)]


def record(
    conn: Connection,
    partner_id: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    subscriptions: list[Any],
    *,
    due: datetime | None = None,
    held: bool = False,
) -> str:
    """Store the event and one delivery per subscription; returns the event id. The
    deliveries are due at ``due`` (default: ``now``), or, ``held``, not until
    ``held_events.release`` (their ``next_attempt_at`` is None meanwhile)."""
    event_id = new_event_id()
    payload = orjson.dumps({"type": event_type, "timestamp": wire_time(now), "data": data})
    conn.execute(
        insert(webhook_events).values(
            id=event_id,
            partner_id=partner_id,
            event_type=event_type,
            payload=payload.decode(),
            created_at=now,
        )
    )
    conn.execute(
        insert(webhook_deliveries),
        [
            {
                "event_id": event_id,
                "subscription_id": sub.id,
                "partner_id": partner_id,
                "channel": sub.channel,
                "status": "pending",
                "attempts": 0,
                "earlier_attempts": 0,
                "next_attempt_at": None if held else (due or now),
                "created_at": now,
            }
            for sub in subscriptions
        ],
    )
    return event_id
