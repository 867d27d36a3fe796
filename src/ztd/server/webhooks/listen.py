"""The channel `ztd listen` drains: a listen registration's deliveries, handed out in order
to whoever polls it, signed with its secret so that they can be forwarded as they are.

A poll also keeps the channel alive (subscriptions.LISTEN_TTL); a CLI that died stops
polling, and the deliverer removes its registration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ztd.server.errors import InvalidRequest
from ztd.server.storage.schema import (
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from ztd.server.webhooks import egress, history, signing, subscriptions

MAX_BATCH = 100
HANDED_OUT = egress.Answer(200, 0, excerpt="handed to ztd listen")
_d = webhook_deliveries.c


def take(
    conn: Connection, partner_id: str, registration_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The channel's pending events, oldest first, now marked delivered. Each item has the
    event's ``payload`` (the exact text signed) and the Standard Webhooks ``headers``."""
    row = subscriptions.get(conn, partner_id, registration_id)
    if row.channel != subscriptions.LISTEN:
        raise InvalidRequest("This registration delivers to a URL; only listen ones are polled.")
    conn.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == row.id)
        .values(expires_at=now + subscriptions.LISTEN_TTL)
    )
    pending = conn.execute(
        select(_d.pk, _d.event_id, webhook_events.c.payload, webhook_events.c.event_type)
        .join(webhook_events, webhook_events.c.id == _d.event_id)
        # Due only: a completion event waits for an emulator hold to end (held_events).
        .where(_d.subscription_id == row.id, _d.status == "pending", _d.next_attempt_at <= now)
        .order_by(_d.pk)
        .limit(MAX_BATCH)
    ).all()
    if not pending:
        return []
    conn.execute(
        update(webhook_deliveries)
        .where(_d.pk.in_([p.pk for p in pending]))
        .values(status="delivered", delivered_at=now, attempts=_d.attempts + 1)
    )
    history.record_attempts(conn, [p.pk for p in pending], HANDED_OUT, ended_at=now)
    secrets = subscriptions.signing_secrets(row, now)
    return [
        {
            "type": p.event_type,
            "payload": p.payload,
            "headers": signing.headers(p.event_id, now, p.payload, secrets),
        }
        for p in pending
    ]
