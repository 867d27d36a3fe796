"""Webhook registrations of a partner: create, list, remove, rotate the secret, disable.

Every function takes the calling partner: another partner's registration answers exactly
like a missing one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from ztd.server.clock import as_utc, wire_time
from ztd.server.errors import Conflict, InvalidRequest, NotFound
from ztd.server.storage.schema import webhook_deliveries, webhook_subscriptions
from ztd.server.webhooks import catalog, egress, signing
from ztd.server.webhooks.events import ACTIVE

DISABLED = "disabled"
HTTP, LISTEN = "http", "listen"
MAX_REGISTRATIONS = 20  # per partner; listen channels included
LISTEN_TTL = timedelta(seconds=60)  # a listen channel not polled for this long is removed
MAX_OVERLAP = timedelta(days=7)
_subs = webhook_subscriptions.c


@dataclass(frozen=True)
class NewRegistration:
    url: str | None  # None: a listen channel
    events: list[str]


def parse(data: Any) -> NewRegistration:
    """The body of POST /webhooks/v1/registration: ``webhookUrl`` and ``webhookEvents``, or
    ``{"listen": true, "webhookEvents": [...]}`` for a channel that `ztd listen` drains.
    Property names are matched ignoring case. Raises 400 naming the problem."""
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a WebhookRegistration object.")
    fields = {str(k).lower(): v for k, v in data.items() if v is not None}
    events = fields.get("webhookevents")
    if not isinstance(events, list) or not events:
        raise InvalidRequest("webhookEvents must be a non-empty array of event type names.")
    unknown = [e for e in events if not isinstance(e, str) or e not in catalog.EVENT_TYPES]
    if unknown:
        known = ", ".join(catalog.EVENT_TYPES)
        raise InvalidRequest(f"Unknown event type {unknown[0]!r:.80}; known: {known}.")
    listen = fields.get("listen", False)
    if not isinstance(listen, bool):
        raise InvalidRequest("listen must be true or false.")
    url = fields.get("webhookurl")
    if listen:
        if url is not None:
            raise InvalidRequest("A listen registration has no webhookUrl.")
        return NewRegistration(None, list(dict.fromkeys(events)))
    if not isinstance(url, str) or not url:
        raise InvalidRequest("webhookUrl is required: the https:// URL to deliver events to.")
    return NewRegistration(url, list(dict.fromkeys(events)))


def create(
    conn: Connection,
    partner_id: str,
    new: NewRegistration,
    *,
    now: datetime,
    policy: str,
    resolver: egress.Resolver,
) -> dict[str, Any]:
    """Store the registration; its resource with the secret (shown this once)."""
    if new.url is not None:
        try:
            egress.check_target(new.url, policy, resolver)
        except egress.EgressRefused as exc:
            raise InvalidRequest(f"webhookUrl is refused: {exc}") from exc
    held = conn.execute(select(_subs.id).where(_subs.partner_id == partner_id)).all()
    if len(held) >= MAX_REGISTRATIONS:
        raise Conflict(f"A partner may hold {MAX_REGISTRATIONS} registrations; remove one first.")
    values = {
        "id": str(uuid.uuid4()),
        "partner_id": partner_id,
        "channel": HTTP if new.url is not None else LISTEN,
        "url": new.url,
        "events": orjson.dumps(new.events).decode(),
        "secret": signing.new_secret(),
        "status": ACTIVE,
        "expires_at": None if new.url is not None else now + LISTEN_TTL,
        "created_at": now,
    }
    conn.execute(insert(webhook_subscriptions).values(**values))
    return {**resource(_Row(values)), "secret": values["secret"]}


class _Row:
    """A dict read like a Row (for the resource of a row just inserted)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update({c.name: None for c in webhook_subscriptions.columns} | values)


def resource(row: Any) -> dict[str, Any]:
    """A registration as the API shows it (never its secret)."""
    out: dict[str, Any] = {"id": row.id}
    if row.url is not None:
        out["webhookUrl"] = row.url
    out |= {
        "webhookEvents": orjson.loads(row.events),
        "status": row.status,
        "listen": row.channel == LISTEN,
        "createdTime": wire_time(row.created_at),
    }
    if row.disabled_reason:
        out["disabledReason"] = row.disabled_reason
    if row.expires_at is not None:
        out["expiresTime"] = wire_time(row.expires_at)
    if row.previous_expires_at is not None:
        out["previousSecretExpiresTime"] = wire_time(row.previous_expires_at)
    out["attributes"] = {"objectType": "WebhookRegistration"}
    return out


def list_all(conn: Connection, partner_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(webhook_subscriptions)
        .where(_subs.partner_id == partner_id)
        .order_by(_subs.created_at, _subs.id)
    ).all()
    return [resource(row) for row in rows]


def active(conn: Connection, partner_id: str) -> list[Any]:
    """The partner's active registration rows."""
    return list(
        conn.execute(
            select(webhook_subscriptions).where(
                _subs.partner_id == partner_id, _subs.status == ACTIVE
            )
        ).all()
    )


def get(conn: Connection, partner_id: str, registration_id: str) -> Any:
    """The partner's registration row; 404 for a missing or another partner's one."""
    row = conn.execute(
        select(webhook_subscriptions).where(
            _subs.id == registration_id.lower(), _subs.partner_id == partner_id
        )
    ).first()
    if row is None:
        raise missing(registration_id)
    return row


def missing(registration_id: str) -> NotFound:
    return NotFound(f"Webhook registration {registration_id[:64]!r} was not found.")


def remove(conn: Connection, partner_id: str, registration_id: str) -> None:
    row = get(conn, partner_id, registration_id)
    _cancel_pending(conn, row.id)
    conn.execute(delete(webhook_subscriptions).where(_subs.id == row.id))


def rotate(
    conn: Connection, partner_id: str, registration_id: str, overlap: timedelta, now: datetime
) -> dict[str, Any]:
    """A new secret; the current one keeps signing beside it for ``overlap``."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidRequest(
            f"overlapSeconds must be from 0 to {int(MAX_OVERLAP.total_seconds())}."
        )
    row = get(conn, partner_id, registration_id)
    secret = signing.new_secret()
    conn.execute(
        update(webhook_subscriptions)
        .where(_subs.id == row.id)
        .values(secret=secret, previous_secret=row.secret, previous_expires_at=now + overlap)
    )
    return {**resource(get(conn, partner_id, row.id)), "secret": secret}


def signing_secrets(row: Any, now: datetime) -> list[str]:
    """The secrets an attempt at ``now`` is signed with: the current one, and the previous
    one while its overlap lasts."""
    found = [row.secret]
    if row.previous_secret and row.previous_expires_at and now < as_utc(row.previous_expires_at):
        found.append(row.previous_secret)
    return found


def disable(conn: Connection, subscription_id: str, reason: str) -> None:
    """Stop delivering to the endpoint, saying why (410 Gone, failing for days)."""
    conn.execute(
        update(webhook_subscriptions)
        .where(_subs.id == subscription_id)
        .values(status=DISABLED, disabled_reason=reason)
    )
    _cancel_pending(conn, subscription_id)


def _cancel_pending(conn: Connection, subscription_id: str) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.subscription_id == subscription_id,
            webhook_deliveries.c.status.in_(("pending", "sending")),
        )
        .values(status="cancelled", lease_token=None, lease_expires_at=None)
    )


def remove_expired_listeners(conn: Connection, now: datetime) -> int:
    """Remove listen channels nobody polled for LISTEN_TTL (a `ztd listen` that died)."""
    expired = conn.execute(
        select(_subs.id).where(_subs.channel == LISTEN, _subs.expires_at < now)
    ).scalars()
    gone = list(expired)
    for subscription_id in gone:
        _cancel_pending(conn, subscription_id)
    if gone:
        conn.execute(delete(webhook_subscriptions).where(_subs.id.in_(gone)))
    return len(gone)
