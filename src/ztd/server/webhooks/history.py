"""The delivery log (every attempt, per registration or per event: recording and reading)
and replay."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from ztd.server.clock import wire_time
from ztd.server.errors import Conflict, InvalidRequest, NotFound
from ztd.server.errors import shown as shown_text
from ztd.server.services.paging import decode_token, encode_token, seek_collection
from ztd.server.storage.schema import (
    webhook_attempts,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from ztd.server.webhooks import egress, held_events, subscriptions
from ztd.wire.paths import resource_path

MAX_ITEMS = 500  # the flat attempt list's cap (registration_log)
PAGE_SIZE = 20  # deliveries per page, unless the caller asks for another size
MAX_PAGE_SIZE = 100
TOKEN_KIND = "wd"  # continuation tokens of the delivery pages
_a = webhook_attempts.c
_d = webhook_deliveries.c


def attempt_resource(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "eventId": row.event_id,
        "registrationId": row.subscription_id,
        "attempt": row.attempt,
        "attemptedTime": wire_time(row.attempted_at),
        "latencyMs": row.latency_ms,
    }
    if row.status_code is not None:
        out["statusCode"] = row.status_code
    if row.error:
        out["error"] = row.error
    if row.response_excerpt:
        out["responseExcerpt"] = row.response_excerpt
    return out


def record_attempts(
    conn: Connection, delivery_pks: list[int], answer: egress.Answer, ended_at: datetime
) -> None:
    """Log one attempt of each delivery (the deliverer's one; a listen poll's batch).

    Its number is the delivery's count of attempts, which its claim (or the poll) has
    just raised: replays continue it (``earlier_attempts``). Its time is when it started,
    ``ended_at`` less its latency, on the clock ``ended_at`` was read from."""
    started = ended_at - timedelta(milliseconds=answer.latency_ms)
    rows = conn.execute(
        select(
            _d.pk, _d.event_id, _d.subscription_id, _d.partner_id, _d.earlier_attempts, _d.attempts
        )
        .where(_d.pk.in_(delivery_pks))
        .order_by(_d.pk)
    ).all()
    if not rows:
        return
    conn.execute(
        insert(webhook_attempts),
        [
            {
                "delivery_pk": row.pk,
                "event_id": row.event_id,
                "subscription_id": row.subscription_id,
                "partner_id": row.partner_id,
                "attempt": row.earlier_attempts + row.attempts,
                "attempted_at": started,
                "status_code": answer.status_code,
                "latency_ms": answer.latency_ms,
                "error": answer.error,
                "response_excerpt": answer.excerpt,
            }
            for row in rows
        ],
    )


def delivery_resource(row: Any) -> dict[str, Any]:
    out = {
        "eventId": row.event_id,
        "registrationId": row.subscription_id,
        "status": row.status,
        "attempts": row.earlier_attempts + row.attempts,  # every one, replays included
    }
    if row.status == "pending" and row.next_attempt_at is not None:
        out["nextAttemptTime"] = wire_time(row.next_attempt_at)
    if row.delivered_at is not None:
        out["deliveredTime"] = wire_time(row.delivered_at)
    return out


def registration_log(
    conn: Connection, partner_id: str, registration_id: str, event_id: str | None
) -> dict[str, Any]:
    """A registration's attempts, newest first (of one event when ``event_id`` is given)."""
    row = subscriptions.get(conn, partner_id, registration_id)
    query = select(webhook_attempts).where(_a.subscription_id == row.id)
    if event_id is not None:
        query = query.where(_a.event_id == event_id)
    rows = conn.execute(query.order_by(_a.pk.desc()).limit(MAX_ITEMS)).all()
    items = [attempt_resource(r) for r in rows]
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


def deliveries_page(
    conn: Connection,
    partner_id: str,
    registration_id: str,
    *,
    token: str | None = None,
    size: int = PAGE_SIZE,
) -> dict[str, Any]:
    """One page of a registration's deliveries, newest first: a SeekBasedResourceCollection
    (``totalCount``: all the registration's deliveries; ``continuationToken`` and
    ``links.next`` while older ones follow), each item a delivery with its event's ``type``
    and ``createdTime`` and every attempt in ``attemptLog`` (oldest first). Another
    partner's registration raises NotFound, as a missing one; a token not of this read,
    InvalidRequest."""
    row = subscriptions.get(conn, partner_id, registration_id)
    uri = resource_path(
        "webhooks", "v1", "registration", row.id, "deliveries", query={"size": size}
    )
    return _page(conn, _d.subscription_id == row.id, f"r/{row.id}", token, size, uri)


def event_deliveries_page(
    conn: Connection,
    partner_id: str,
    event_id: str,
    *,
    token: str | None = None,
    size: int = PAGE_SIZE,
) -> dict[str, Any]:
    """One page of an event's deliveries (one per registration it went to, listen channels
    included), newest first, shaped as ``deliveries_page``'s. Another partner's event
    raises NotFound, as a missing one."""
    found = _event_row(conn, partner_id, event_id)
    uri = resource_path("webhooks", "v1", "events", found.id, "deliveries", query={"size": size})
    return _page(conn, _d.event_id == found.id, f"e/{found.id}", token, size, uri)


def _page(
    conn: Connection,
    which: ColumnElement[bool],
    scope: str,
    token: str | None,
    size: int,
    uri: str,
) -> dict[str, Any]:
    """The deliveries ``which`` selects, newest first, from after ``token``'s position.
    ``scope`` names the list (``r/<registration id>``, ``e/<event id>``): its tokens carry
    it, so one list's token is refused by another instead of silently paging it."""
    query = (
        select(
            webhook_deliveries,
            webhook_events.c.event_type,
            webhook_events.c.created_at.label("event_created_at"),
        )
        .join(webhook_events, webhook_events.c.id == _d.event_id)
        .where(which)
    )
    if token:
        query = query.where(_d.pk < _position(token, scope))
    rows = conn.execute(query.order_by(_d.pk.desc()).limit(size + 1)).all()
    shown = rows[:size]
    total = conn.execute(select(func.count()).select_from(webhook_deliveries).where(which))
    attempts: dict[int, list[dict[str, Any]]] = {d.pk: [] for d in shown}
    if shown:
        for attempt in conn.execute(
            select(webhook_attempts).where(_a.delivery_pk.in_(list(attempts))).order_by(_a.pk)
        ):
            attempts[attempt.delivery_pk].append(attempt_resource(attempt))
    items = [
        {
            **delivery_resource(d),
            "type": d.event_type,
            "createdTime": wire_time(d.event_created_at),
            "attemptLog": attempts[d.pk],
        }
        for d in shown
    ]
    more = len(rows) > size
    return seek_collection(
        items,
        int(total.scalar_one()),
        encode_token(TOKEN_KIND, f"{shown[-1].pk}:{scope}") if more else None,
        uri,
    )


def _position(token: str, scope: str) -> int:
    """The delivery a token continues after; InvalidRequest unless it is one of this list's
    (another list's token, an edited one)."""
    position, _, found = decode_token(token, TOKEN_KIND).partition(":")
    # A row number that fits a BIGINT, then the list it was given for.
    if not re.fullmatch(r"[0-9]{1,18}", position) or found != scope:
        raise InvalidRequest(
            f"The continuation token {shown_text(token)} is not valid for this list: "
            "send back only the continuationToken of the list being read."
        )
    return int(position)


def _event_row(conn: Connection, partner_id: str, event_id: str) -> Any:
    found = conn.execute(
        select(webhook_events).where(
            webhook_events.c.id == event_id, webhook_events.c.partner_id == partner_id
        )
    ).first()
    if found is None:
        raise NotFound(f"Webhook event {event_id[:80]!r} was not found.")
    return found


def event(conn: Connection, partner_id: str, event_id: str) -> dict[str, Any]:
    """One event of the partner: its payload, its deliveries and their attempts."""
    found = _event_row(conn, partner_id, event_id)
    deliveries = conn.execute(
        select(webhook_deliveries).where(_d.event_id == found.id).order_by(_d.pk)
    ).all()
    attempts = conn.execute(
        select(webhook_attempts).where(_a.event_id == found.id).order_by(_a.pk)
    ).all()
    return {
        "id": found.id,
        "type": found.event_type,
        "createdTime": wire_time(found.created_at),
        "payload": orjson.loads(found.payload),
        "deliveries": [delivery_resource(d) for d in deliveries],
        "attempts": [attempt_resource(a) for a in attempts],
        "attributes": {"objectType": "WebhookEvent"},
    }


def replay_event(conn: Connection, partner_id: str, event_id: str, now: datetime) -> dict[str, Any]:
    """Send an event again to each of its active registrations (endpoints, not listen
    channels). The webhook-id stays the event's: a receiver that kept it sees a duplicate.

    Returns ``{"queued": N, "skipped": [{"registrationId", "reason"}]}``, ``skipped`` the
    event's disabled registrations, each with why and how to re-enable it. Conflict (409,
    naming them) when every registration the event went to that still exists is disabled:
    nothing could be queued. NotFound unless the event is the partner's."""
    found = _event_row(conn, partner_id, event_id)
    subs = webhook_subscriptions.c
    targets = conn.execute(
        select(webhook_subscriptions)
        .join(webhook_deliveries, _d.subscription_id == subs.id)
        .where(_d.event_id == found.id, _d.channel == subscriptions.HTTP)
        .order_by(subs.id)
    ).all()
    disabled = [row for row in targets if row.status == subscriptions.DISABLED]
    if disabled and len(disabled) == len(targets):
        raise Conflict(
            f"Event {found.id} was not replayed: every registration it went to is disabled. "
            + " ".join(subscriptions.disabled_message(row) for row in disabled)
        )
    due = held_events.replay_due(conn, found.event_type, found.payload, now)
    queued = _requeue(conn, due, _d.event_id == found.id, _d.channel == subscriptions.HTTP)
    skipped = [
        {"registrationId": row.id, "reason": subscriptions.disabled_message(row)}
        for row in disabled
    ]
    return {"queued": queued, "skipped": skipped}


def replay_failed(
    conn: Connection, partner_id: str, registration_id: str, since: datetime, now: datetime
) -> int:
    """Queue again every failed delivery of the registration created since ``since``, and
    those cancelled when it was disabled (it has been re-enabled since). 409 while it is
    disabled, saying how to re-enable it."""
    row = subscriptions.get(conn, partner_id, registration_id)
    subscriptions.refuse_disabled(row, subscriptions.THEN_REPLAY)
    return _requeue(
        conn,
        now,
        _d.subscription_id == row.id,
        _d.status.in_(("failed", "cancelled")),
        _d.created_at >= since,
    )


def _requeue(conn: Connection, due: datetime | None, *where: Any) -> int:
    """Queue the deliveries ``where`` selects again, due at ``due`` (None: parked until an
    emulator hold ends, see held_events); how many."""
    active = select(webhook_subscriptions.c.id).where(webhook_subscriptions.c.status == "active")
    result = conn.execute(
        update(webhook_deliveries)
        .where(*where, _d.status != "sending", _d.subscription_id.in_(active))
        # A fresh retry schedule; the attempts so far stay counted (and numbered on).
        .values(
            status="pending",
            earlier_attempts=_d.earlier_attempts + _d.attempts,
            attempts=0,
            next_attempt_at=due,
            delivered_at=None,
        )
    )
    return int(result.rowcount)


def purge(conn: Connection, before: datetime) -> int:
    """Forget events created before ``before`` (with their deliveries and attempts), unless
    a delivery of theirs is still due or in flight; how many events went."""
    busy = select(_d.event_id).where(_d.status.in_(("pending", "sending")))
    old = list(
        conn.execute(
            select(webhook_events.c.id).where(
                webhook_events.c.created_at < before, webhook_events.c.id.not_in(busy)
            )
        ).scalars()
    )
    for first in range(0, len(old), 500):
        ids = old[first : first + 500]
        conn.execute(delete(webhook_attempts).where(_a.event_id.in_(ids)))
        conn.execute(delete(webhook_deliveries).where(_d.event_id.in_(ids)))
        conn.execute(delete(webhook_events).where(webhook_events.c.id.in_(ids)))
    return len(old)
