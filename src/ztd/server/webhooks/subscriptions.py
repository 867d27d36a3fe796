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
from ztd.server.errors import Conflict, InvalidRequest, NotFound, invalid, shown
from ztd.server.storage.schema import webhook_deliveries, webhook_subscriptions
from ztd.server.webhooks import catalog, egress, signing
from ztd.server.webhooks.events import ACTIVE

DISABLED = "disabled"
HTTP, LISTEN = "http", "listen"
# Per partner. Endpoints (active or disabled: a disabled one is re-enabled with PUT, so it
# keeps its place) and listen channels count apart: a `ztd listen` is never blocked by
# long-lived endpoints, nor do a few stray channels block registering an endpoint.
MAX_REGISTRATIONS = 20
MAX_LISTEN_CHANNELS = 10  # `ztd listen` and the SDK's event waits, at once
LISTEN_TTL = timedelta(seconds=60)  # a listen channel not polled for this long is removed
MAX_OVERLAP = timedelta(days=7)
WHAT = "WebhookRegistration"
_subs = webhook_subscriptions.c
_BY_KEY = {name.lower(): name for name in catalog.EVENT_TYPES}
_KNOWN = ", ".join(catalog.EVENT_TYPES)
_URL_WANTED = "the http(s):// URL to deliver events to"


@dataclass(frozen=True)
class NewRegistration:
    url: str | None  # None: a listen channel
    events: list[str]


def parse(data: Any) -> NewRegistration:
    """The body of POST (and PUT) /webhooks/v1/registration: ``webhookUrl`` and
    ``webhookEvents``, or ``{"listen": true, "webhookEvents": [...]}`` for a channel that
    `ztd listen` drains. Property names and event types are matched ignoring case (event
    types are stored as the catalogue spells them); the URL's surrounding spaces are
    trimmed. Raises 400 naming every problem (``data``: one ``"where: why"`` each)."""
    if not isinstance(data, dict):
        raise invalid(
            WHAT,
            [
                f'body: expected an object {{"webhookUrl": ..., "webhookEvents": [...]}}, '
                f"got {shown(data)}"
            ],
        )
    fields = {str(k).lower(): v for k, v in data.items()}
    problems: list[str] = []
    events = _events(fields, problems)
    listen = fields.get("listen")
    url = None
    if listen is not None and not isinstance(listen, bool):
        # Which kind was meant is unknown: the URL's rules depend on it.
        problems.append(f"listen: expected true or false, got {shown(listen)}")
    else:
        url = _url(fields, listen is True, problems)
    if problems:
        raise invalid(WHAT, problems)
    return NewRegistration(url, events)


def _events(fields: dict[str, Any], problems: list[str]) -> list[str]:
    if "webhookevents" not in fields:
        problems.append(f"webhookEvents: missing; name the event types wanted, from: {_KNOWN}")
        return []
    given = fields["webhookevents"]
    if not isinstance(given, list):
        problems.append(
            f"webhookEvents: expected an array of event types, got {shown(given)}; known: {_KNOWN}"
        )
        return []
    if not given:
        problems.append(f"webhookEvents: empty; name at least one of: {_KNOWN}")
    found: list[str] = []
    for index, name in enumerate(given):
        where = f"webhookEvents[{index}]"
        if not isinstance(name, str):
            got = "null" if name is None else f"not a string but {shown(name)}"
            problems.append(f"{where}: {got}; expected an event type, one of: {_KNOWN}")
        elif name.lower() not in _BY_KEY:
            problems.append(f"{where}: unknown event type {shown(name)}; known: {_KNOWN}")
        else:
            found.append(_BY_KEY[name.lower()])
    return list(dict.fromkeys(found))


def _url(fields: dict[str, Any], listen: bool, problems: list[str]) -> str | None:
    given = fields.get("webhookurl")
    if listen:
        if given is not None:
            problems.append("webhookUrl: a listen registration has none; send one or the other")
        return None
    if given is None:
        said = "null" if "webhookurl" in fields else "missing"
        problems.append(
            f'webhookUrl: {said}; expected {_URL_WANTED} (or "listen": true for a channel '
            "that `ztd listen` drains)"
        )
        return None
    if not isinstance(given, str):
        problems.append(f"webhookUrl: expected a string, {_URL_WANTED}, got {shown(given)}")
        return None
    # Trimmed as browsers and URL parsers do (WHATWG): spaces pasted around a URL are no
    # part of it. Spaces inside are refused by egress.check_url.
    url = given.strip()
    if not url:
        problems.append(f"webhookUrl: empty; expected {_URL_WANTED}")
        return None
    try:
        egress.check_url(url)
    except egress.EgressRefused as exc:
        problems.append(f"webhookUrl: {exc}")
    return url


@dataclass(frozen=True)
class CheckedRegistration:
    """A parsed registration and what resolving its URL's host found (:func:`check_target`).
    create and replace take only this, so the lookup is always done before their write
    transaction opens: DNS can take seconds, and SQLite has one writer, which every upload
    and status write would wait for meanwhile."""

    new: NewRegistration
    refusal: InvalidRequest | None  # 400 naming webhookUrl; None: allowed (or a listen channel)

    def raise_refusal(self) -> None:
        """Raised inside the transaction, after the checks that came before it there (404,
        the 409 for a listen channel), so a request gets the same error as it always did."""
        if self.refusal is not None:
            raise self.refusal


def check_target(
    new: NewRegistration, *, policy: str, resolver: egress.Resolver
) -> CheckedRegistration:
    """Resolve the URL's host (its form was checked by parse) and check every address it
    resolves to now against ``policy`` (Settings.webhook_private_policy). Call it with no
    transaction open: ``resolver`` may block for seconds. Never raises for a refused URL:
    the refusal rides along (CheckedRegistration.raise_refusal)."""
    if new.url is None:
        return CheckedRegistration(new, None)
    try:
        egress.check_target(new.url, policy, resolver)
    except egress.EgressRefused as exc:
        return CheckedRegistration(new, invalid(WHAT, [f"webhookUrl: {exc}"]))
    return CheckedRegistration(new, None)


def create(
    conn: Connection, partner_id: str, checked: CheckedRegistration, *, now: datetime
) -> dict[str, Any]:
    """Store the registration; its resource with the secret (shown this once). 400 when
    its URL was refused (check_target); 409 past the partner's limit of its kind (endpoint
    or listen channel)."""
    new = checked.new
    checked.raise_refusal()
    _check_room(conn, partner_id, HTTP if new.url is not None else LISTEN)
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


def _check_room(conn: Connection, partner_id: str, channel: str) -> None:
    held = conn.execute(
        select(_subs.status).where(_subs.partner_id == partner_id, _subs.channel == channel)
    ).scalars()
    statuses = list(held)
    if channel == LISTEN and len(statuses) >= MAX_LISTEN_CHANNELS:
        raise Conflict(
            f"A partner may hold {MAX_LISTEN_CHANNELS} listen channels at once and holds "
            f"{len(statuses)}: stop a running `ztd listen`, or wait a minute (a channel nobody "
            f"polls is removed {LISTEN_TTL.seconds} s after its last poll)."
        )
    if channel == HTTP and len(statuses) >= MAX_REGISTRATIONS:
        disabled = statuses.count(DISABLED)
        why = (
            f" ({disabled} of them disabled: re-enable one with PUT "
            "/webhooks/v1/registration/{id}, or remove it)"
            if disabled
            else ""
        )
        raise Conflict(
            f"A partner may hold {MAX_REGISTRATIONS} webhook endpoints and holds "
            f"{len(statuses)}{why}. GET /webhooks/v1/registration lists them; DELETE "
            "/webhooks/v1/registration/{id} removes one."
        )


def replace(
    conn: Connection,
    partner_id: str,
    registration_id: str | None,
    checked: CheckedRegistration,
    *,
    now: datetime,
) -> dict[str, Any]:
    """PUT: replace an endpoint's ``webhookUrl`` and ``webhookEvents`` and make it active
    again (a disabled one is re-enabled: its reason cleared, its failure clock restarted).
    Without ``registration_id``, Partner Center's form: the partner's one endpoint (404
    with none, 409 with several). The secret stays. 400 when the URL was refused
    (check_target). Returns the resource (no secret)."""
    new = checked.new
    row = get(conn, partner_id, registration_id) if registration_id else _only(conn, partner_id)
    if row.channel == LISTEN:
        raise Conflict(
            f"Webhook registration {row.id} is a listen channel (`ztd listen`); it has no "
            "URL to change. Start another `ztd listen` for other event types."
        )
    if new.url is None:
        raise invalid(WHAT, ["listen: an endpoint cannot become a listen channel"])
    checked.raise_refusal()
    conn.execute(
        update(webhook_subscriptions)
        .where(_subs.id == row.id)
        .values(
            url=new.url,
            events=orjson.dumps(new.events).decode(),
            status=ACTIVE,
            disabled_reason=None,
            disabled_at=None,
            failing_since=None,
        )
    )
    return resource(get(conn, partner_id, row.id))


def _only(conn: Connection, partner_id: str) -> Any:
    rows = conn.execute(
        select(webhook_subscriptions)
        .where(_subs.partner_id == partner_id, _subs.channel == HTTP)
        .order_by(_subs.created_at, _subs.id)
    ).all()
    if not rows:
        raise NotFound(
            "The partner holds no webhook endpoint to update; create one with POST "
            "/webhooks/v1/registration."
        )
    if len(rows) > 1:
        ids = ", ".join(row.id for row in rows[:MAX_REGISTRATIONS])
        raise Conflict(
            f"The partner holds {len(rows)} webhook endpoints; say which to update with "
            f"PUT /webhooks/v1/registration/{{id}} (ids: {ids})."
        )
    return rows[0]


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
    if row.disabled_at is not None:
        out["disabledTime"] = wire_time(row.disabled_at)
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


def test_targets(conn: Connection, partner_id: str, registration_id: str | None) -> list[Any]:
    """The registration rows a test event goes to: the one named (404 when it is not the
    partner's, 409 while it is disabled), else every active one (409 naming the disabled
    ones when there are only those, 400 when there is none)."""
    if registration_id is not None:
        row = get(conn, partner_id, registration_id)
        refuse_disabled(row, THEN_TEST)
        return [row]
    targets = active(conn, partner_id)
    if targets:
        return targets
    disabled = conn.execute(
        select(webhook_subscriptions)
        .where(_subs.partner_id == partner_id, _subs.status == DISABLED)
        .order_by(_subs.created_at, _subs.id)
    ).all()
    if disabled:
        raise Conflict(
            "No active webhook registration to send a test event to. "
            + " ".join(disabled_message(row, THEN_TEST) for row in disabled)
        )
    raise InvalidRequest(
        "No webhook registration to send a test event to: register an endpoint first "
        "(POST /webhooks/v1/registration)."
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


def disable(conn: Connection, subscription_id: str, reason: str, now: datetime) -> None:
    """Stop delivering to the endpoint, saying why (410 Gone, failing for days) and since
    when; its pending deliveries are cancelled (replayable once it is re-enabled)."""
    conn.execute(
        update(webhook_subscriptions)
        .where(_subs.id == subscription_id)
        .values(status=DISABLED, disabled_reason=reason, disabled_at=now)
    )
    _cancel_pending(conn, subscription_id)


# What to do once a disabled registration is re-enabled, per refused request.
THEN_REPLAY = "replay"
THEN_TEST = "send the test event again"


def refuse_disabled(row: Any, then: str) -> None:
    """409 for a disabled registration, saying since when, why, how to re-enable it, and
    ``then`` what to do again (for what only an active one can do: replay, a test event)."""
    if row.status == DISABLED:
        raise Conflict(disabled_message(row, then))


def disabled_message(row: Any, then: str = THEN_REPLAY) -> str:
    """Why the disabled registration ``row`` refused a request: since when, why, and how to
    re-enable it, then do ``then`` again (one sentence set, for every 409 about a disabled
    registration and a replay's ``skipped``)."""
    since = f" since {wire_time(row.disabled_at)}" if row.disabled_at is not None else ""
    return (
        f"Webhook registration {row.id} is disabled{since}: {row.disabled_reason or 'no reason'} "
        f"Re-enable it with PUT /webhooks/v1/registration/{row.id} (its webhookUrl and "
        f"webhookEvents), then {then}."
    )


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
