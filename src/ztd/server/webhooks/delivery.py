"""The deliverer: claims due deliveries under a lease, sends them, records each attempt and
schedules the next one.

Guarantees. A delivery is claimed by one UPDATE that sets a fresh lease token (PostgreSQL:
rows locked by another worker are skipped); the HTTP request runs outside any transaction
(an SQLite writer is never held across the network); the outcome is written only if the
token still matches (fencing). A worker killed mid-request leaves a lease that runs out, and
the next claim sends the delivery again, with the same webhook-id: at least once, and
receivers de-duplicate on that id. Retries follow ZTD_WEBHOOK_RETRY_SECONDS; a 410 Gone
disables the endpoint, as does failing every attempt for ZTD_WEBHOOK_DISABLE_AFTER_DAYS.

Fairness. A registration has at most one delivery in flight: the claim skips every
registration with a live lease, in the query itself, so that it holds across worker
processes (on PostgreSQL the claims are serialized by a transaction-scoped advisory lock,
so two workers cannot each take one of the same registration's deliveries at once). A slow
endpoint then holds one sender, never a queue of its own deliveries.

Workers send from threads beside the chunk loop (webhooks.dispatch); tests call
:meth:`Deliverer.deliver_due`, which does the same work one delivery after another."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from ztd.server.clock import Clock, as_utc, utc_now
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import (
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from ztd.server.webhooks import egress, held_events, history, signing, subscriptions
from ztd.server.webhooks.events import ACTIVE

log = logging.getLogger("ztd.webhooks")

CLAIM_BATCH = 10  # deliveries per deliver_due call
SWEEP_SECONDS = 30.0  # expired listen channels, the log past its retention
# pg_advisory_xact_lock key serializing delivery claims across workers (any fixed bigint).
CLAIM_LOCK = 0x7A7464_0001
_d = webhook_deliveries.c


@dataclass(frozen=True, slots=True)
class Claimed:
    pk: int
    token: str
    event_id: str
    subscription_id: str
    partner_id: str
    attempt: int  # 1 for the first


def lease_seconds(settings: Settings) -> float:
    """Longer than one attempt can take: connect, write, and the answer, which the sender
    cuts off at twice the timeout (egress.Sender)."""
    return 4 * settings.webhook_timeout_seconds + 1


def _claimable(due: Any, now: datetime) -> ColumnElement[bool]:
    """``due`` (an alias of webhook_deliveries) is an HTTP delivery that may be claimed now,
    its registration having no other delivery in flight (a live lease)."""
    ready = or_(
        and_(due.c.status == "pending", due.c.next_attempt_at <= now),
        and_(due.c.status == "sending", due.c.lease_expires_at < now),
    )
    return and_(due.c.channel == subscriptions.HTTP, ready, ~_in_flight_of(due, now))


def claim(
    conn: Connection,
    *,
    now: datetime,
    lease: float,
    skip_partners: Collection[str] = (),
) -> Claimed | None:
    """Lease the HTTP delivery due first (or whose lease ran out) of a registration with
    none in flight, and of none of ``skip_partners``; None when there is none."""
    if conn.dialect.name == "postgresql":
        # Released at commit: the next claimer's statements then see this one's lease.
        conn.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    due = webhook_deliveries.alias("due")
    pick = select(due.c.pk).where(_claimable(due, now))
    if skip_partners:
        pick = pick.where(due.c.partner_id.not_in(list(skip_partners)))
    pick = pick.order_by(due.c.next_attempt_at, due.c.pk).limit(1).with_for_update(skip_locked=True)
    token = str(uuid.uuid4())
    row = conn.execute(
        update(webhook_deliveries)
        .where(_d.pk.in_(pick.scalar_subquery()))
        .values(
            status="sending",
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease),
            attempts=_d.attempts + 1,
        )
        .returning(_d.pk, _d.event_id, _d.subscription_id, _d.partner_id, _d.attempts)
    ).first()
    if row is None:
        return None
    return Claimed(row.pk, token, row.event_id, row.subscription_id, row.partner_id, row.attempts)


def next_due(conn: Connection, now: datetime) -> datetime | None:
    """When a delivery may next be claimed: the earliest due time of a registration with
    none in flight, or the earliest lease to run out; None when nothing waits. A read (no
    SQLite write lock), walking the (status, next_attempt_at) index."""
    due = webhook_deliveries.alias("due")
    pending = (
        select(due.c.next_attempt_at)
        .where(due.c.status == "pending", due.c.channel == subscriptions.HTTP)
        # Parked ones (no due time: held_events) wait for a release; SQLite sorts NULL first.
        .where(due.c.next_attempt_at.is_not(None), ~_in_flight_of(due, now))
        .order_by(due.c.next_attempt_at)
        .limit(1)
        .scalar_subquery()
    )
    expiring = (
        select(func.min(_d.lease_expires_at))
        .where(_d.status == "sending", _d.channel == subscriptions.HTTP)
        .scalar_subquery()
    )
    first, lease_end = conn.execute(select(pending, expiring)).one()
    times = [as_utc(t) for t in (first, lease_end) if t is not None]
    return min(times) if times else None


def _in_flight_of(due: Any, now: datetime) -> ColumnElement[bool]:
    """``due``'s registration has a delivery with a live lease."""
    busy = webhook_deliveries.alias("busy")
    return (
        select(busy.c.pk)
        .where(
            busy.c.subscription_id == due.c.subscription_id,
            busy.c.status == "sending",
            busy.c.lease_expires_at >= now,
        )
        .exists()
    )


class Deliverer:
    """Claims, sends and records deliveries on ``db``; thread-safe (senders share it)."""

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
        self._next_sweep = 0.0

    def close(self) -> None:
        self.sender.close()

    def deliver_due(self) -> int:
        """Claim and attempt due deliveries one after another, up to CLAIM_BATCH; returns
        how many were attempted (tests call this; workers use webhooks.dispatch)."""
        self.sweep_if_due()
        attempted = 0
        while attempted < CLAIM_BATCH:
            claimed = self.claim_next()
            if claimed is None:
                break
            attempted += 1
            self.attempt(claimed)
        return attempted

    def sweep_if_due(self) -> None:
        """Every SWEEP_SECONDS: remove expired listen channels, purge the old log, release
        parked deliveries whose emulator hold went without the read that ends it."""
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        now = self.clock()
        with self.db.write() as conn:
            subscriptions.remove_expired_listeners(conn, now)
            held_events.release_orphans(conn, now)
            # The log is kept as long as finished jobs are (ZTD_JOB_RETENTION_DAYS).
            history.purge(conn, now - timedelta(days=self.settings.job_retention_days))

    def claim_next(self, skip_partners: Collection[str] = ()) -> Claimed | None:
        """Lease one due delivery (see :func:`claim`); its lease starts now, as its attempt
        does."""
        with self.db.write() as conn:
            return claim(
                conn,
                now=self.clock(),
                lease=lease_seconds(self.settings),
                skip_partners=skip_partners,
            )

    def seconds_until_due(self) -> float | None:
        """Seconds until a delivery may be claimed (0 when one may now); None: none waits."""
        with self.db.read() as conn:
            now = self.clock()
            found = next_due(conn, now)
        return None if found is None else max(0.0, (found - now).total_seconds())

    def attempt(self, delivery: Claimed, wanted: Callable[[], bool] = lambda: True) -> None:
        """Send ``delivery`` and record the outcome, unless ``wanted()`` has turned false by
        then (a stopping worker abandoned it: its lease runs out and another worker sends
        it again). Never raises: an unexpected failure is logged and the lease runs out."""
        try:
            self._attempt(delivery, wanted)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("webhook delivery %s failed unexpectedly", delivery.pk)

    def _attempt(self, delivery: Claimed, wanted: Callable[[], bool]) -> None:
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
        if not wanted():
            log.info("webhook delivery %s abandoned while stopping", delivery.pk)
            return
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
