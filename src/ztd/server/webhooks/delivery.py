"""The deliverer: claims due deliveries under a lease, sends them, records each attempt and
schedules the next one.

Guarantees. A delivery is claimed by one UPDATE that sets a fresh lease token (PostgreSQL:
rows locked by another worker are skipped); the HTTP request runs outside any transaction
(an SQLite writer is never held across the network); the outcome is written only if the
token still matches (fencing). A worker killed mid-request leaves a lease that runs out, and
the next claim sends the delivery again, with the same webhook-id: at least once, and
receivers de-duplicate on that id. Retries follow ZTD_WEBHOOK_RETRY_SECONDS; a 410 Gone
disables the endpoint, as does failing every attempt for ZTD_WEBHOOK_DISABLE_AFTER_DAYS.

The worker calls :meth:`Deliverer.run_due` on every turn of its loop; it looks at the
database at most once per ZTD_POLL_INTERVAL_SECONDS unless it just found work."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from ztd.server.clock import Clock, as_utc, utc_now
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import (
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from ztd.server.webhooks import egress, history, signing, subscriptions
from ztd.server.webhooks.events import ACTIVE

log = logging.getLogger("ztd.webhooks")

CLAIM_BATCH = 10  # deliveries per call, before the worker looks at its chunks again
SWEEP_SECONDS = 30.0  # expired listen channels, the log past its retention
_d = webhook_deliveries.c


@dataclass(frozen=True, slots=True)
class Claimed:
    pk: int
    token: str
    event_id: str
    subscription_id: str
    attempt: int  # 1 for the first


def lease_seconds(settings: Settings) -> float:
    """Longer than one attempt can take: connect, write, and the answer, which the sender
    cuts off at twice the timeout (egress.Sender)."""
    return 4 * settings.webhook_timeout_seconds + 1


def claim(conn: Connection, *, now: datetime, lease: float, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` HTTP deliveries that are due, or whose lease ran out."""
    due = or_(
        and_(_d.status == "pending", _d.next_attempt_at <= now),
        and_(_d.status == "sending", _d.lease_expires_at < now),
    )
    pks = (
        select(_d.pk)
        .where(_d.channel == subscriptions.HTTP, due)
        .order_by(_d.next_attempt_at, _d.pk)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    token = str(uuid.uuid4())
    rows = conn.execute(
        update(webhook_deliveries)
        .where(_d.pk.in_(pks.scalar_subquery()))
        .values(
            status="sending",
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease),
            attempts=_d.attempts + 1,
        )
        .returning(_d.pk, _d.event_id, _d.subscription_id, _d.attempts)
    ).all()
    return [
        Claimed(r.pk, token, r.event_id, r.subscription_id, r.attempts)
        for r in sorted(rows, key=lambda r: r.pk)
    ]


class Deliverer:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        resolver: egress.Resolver = egress.system_resolver,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.sender = egress.Sender(
            policy=settings.webhook_private_policy,
            timeout=settings.webhook_timeout_seconds,
            max_bytes=settings.webhook_max_response_bytes,
            resolver=resolver,
        )
        self._next_look = 0.0
        self._next_sweep = 0.0

    def close(self) -> None:
        self.sender.close()

    def run_due(self) -> int:
        """Deliver what is due, if it is time to look; returns how many were attempted."""
        if time.monotonic() < self._next_look:
            return 0
        done = self.deliver_due()
        # Found work: look again at once (more may be due); else after a poll interval.
        self._next_look = 0.0 if done else time.monotonic() + self.settings.poll_interval_seconds
        return done

    def deliver_due(self) -> int:
        """Claim one batch of due deliveries and attempt each (tests call this directly)."""
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            now = self.clock()
            with self.db.write() as conn:
                subscriptions.remove_expired_listeners(conn, now)
                # The log is kept as long as finished jobs are (ZTD_JOB_RETENTION_DAYS).
                history.purge(conn, now - timedelta(days=self.settings.job_retention_days))
        attempted = 0
        # One at a time: each lease starts when its attempt does, so a slow endpoint
        # cannot make the deliveries queued behind it outlive their leases.
        while attempted < CLAIM_BATCH:
            with self.db.write() as conn:
                claimed = claim(conn, now=self.clock(), lease=lease_seconds(self.settings), limit=1)
            if not claimed:
                break
            attempted += 1
            try:
                self._attempt(claimed[0])
            except Exception:  # the lease runs out and the delivery is tried again
                log.exception("webhook delivery %s failed unexpectedly", claimed[0].pk)
        return attempted

    def _attempt(self, delivery: Claimed) -> None:
        with self.db.read() as conn:
            found = conn.execute(
                select(webhook_events.c.payload, webhook_subscriptions)
                .join(webhook_subscriptions, webhook_subscriptions.c.id == delivery.subscription_id)
                .where(webhook_events.c.id == delivery.event_id)
            ).first()
        now = self.clock()
        if found is None or found.status != ACTIVE or found.url is None:
            with self.db.write() as conn:
                _finish(conn, delivery, status="cancelled")
            return
        headers = signing.headers(
            delivery.event_id, now, found.payload, subscriptions.signing_secrets(found, now)
        )
        answer = self.sender.send(found.url, found.payload.encode(), headers)
        with self.db.write() as conn:
            self.record(conn, delivery, found, answer)

    def record(
        self, conn: Connection, delivery: Claimed, subscription: Any, answer: egress.Answer
    ) -> None:
        """Log the attempt and decide what follows, if this worker still holds the lease."""
        now = self.clock()
        held = conn.execute(
            update(webhook_deliveries)
            .where(_d.pk == delivery.pk, _d.lease_token == delivery.token)
            .values(lease_token=None, lease_expires_at=None)
        ).rowcount
        if held != 1:
            log.info("webhook delivery %s: lease lost; outcome dropped", delivery.pk)
            return
        history.record_attempts(conn, [delivery.pk], answer, ended_at=now)
        code = answer.status_code
        if code is not None and 200 <= code < 300:
            _finish(conn, delivery, status="delivered", delivered_at=now)
            _mark_failing(conn, delivery.subscription_id, None)
            return
        if code == 410:
            _finish(conn, delivery, status="failed")
            subscriptions.disable(
                conn, delivery.subscription_id, "The endpoint answered 410 Gone.", now
            )
            return
        schedule = self.settings.webhook_retry_seconds
        if delivery.attempt < len(schedule):
            next_at = now + timedelta(seconds=schedule[delivery.attempt])
            _finish(conn, delivery, status="pending", next_attempt_at=next_at)
        else:
            _finish(conn, delivery, status="failed")
        since = as_utc(subscription.failing_since) if subscription.failing_since else now
        _mark_failing(conn, delivery.subscription_id, since)
        limit = timedelta(days=self.settings.webhook_disable_after_days)
        if now - since >= limit:
            subscriptions.disable(
                conn,
                delivery.subscription_id,
                f"Every attempt failed for {self.settings.webhook_disable_after_days:g} days "
                f"(since {since:%Y-%m-%dT%H:%M:%SZ}); the last: {_said(answer)}.",
                now,
            )


def _said(answer: egress.Answer) -> str:
    return f"HTTP {answer.status_code}" if answer.status_code is not None else str(answer.error)


def _finish(conn: Connection, delivery: Claimed, *, status: str, **values: Any) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(_d.pk == delivery.pk)
        .values(status=status, lease_token=None, lease_expires_at=None, **values)
    )


def _mark_failing(conn: Connection, subscription_id: str, since: datetime | None) -> None:
    conn.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == subscription_id)
        .values(failing_since=since)
    )
