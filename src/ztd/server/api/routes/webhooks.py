"""Webhook registrations, their delivery log, replay and the listen channel, under
/webhooks/v1/ (docs/webhooks.md). Partner Center's own registration paths, extended: a
partner may hold several registrations. Every lookup is scoped to the calling partner."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.bodies import parse_json, read_body
from ztd.server.api.context import context_of
from ztd.server.api.responses import json_response
from ztd.server.api.security import reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.errors import InvalidRequest
from ztd.server.webhooks import catalog, egress, events, history, listen, subscriptions

router = APIRouter(prefix="/webhooks/v1")
MAX_BODY = 65536
MAX_WAIT_SECONDS = 30.0
LISTEN_POLL_SECONDS = 0.1
T = TypeVar("T")


def _resolver(request: Request) -> egress.Resolver:
    # Tests set app.state.webhook_resolver to answer DNS their way (rebinding).
    found: egress.Resolver = getattr(request.app.state, "webhook_resolver", egress.system_resolver)
    return found


async def _checked_target(
    request: Request, new: subscriptions.NewRegistration
) -> subscriptions.CheckedRegistration:
    """Resolve the URL's host before any transaction opens (SQLite's one writer would wait
    for the DNS answer) and in a thread (it can take seconds)."""
    return await run_in_threadpool(
        subscriptions.check_target,
        new,
        policy=context_of(request).settings.webhook_private_policy,
        resolver=_resolver(request),
    )


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent, or {} for an empty body."""
    raw = await read_body(request, MAX_BODY)
    if not raw.strip():
        return {}
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return {str(k).lower(): v for k, v in data.items() if v is not None}


def _write(request: Request, work: Callable[[Connection, datetime], T]) -> T:
    ctx = context_of(request)
    with ctx.db.write() as conn:
        return work(conn, ctx.clock())


def _queued(request: Request, work: Callable[[Connection, datetime], T]) -> T:
    """:func:`_write` for work that queues deliveries: the embedded worker's dispatcher is
    woken once they are committed."""
    done = _write(request, work)
    context_of(request).webhook_wakeup.set()
    return done


def _read(request: Request, work: Callable[[Connection], T]) -> T:
    with context_of(request).db.read() as conn:
        return work(conn)


@router.post("/registration")
async def create_registration(request: Request, principal: Principal = Depends(writer)) -> Response:
    raw = await read_body(request, MAX_BODY)
    checked = await _checked_target(request, subscriptions.parse(parse_json(raw)))

    def create(conn: Connection, now: datetime) -> dict[str, Any]:
        return subscriptions.create(conn, principal.partner_id, checked, now=now)

    return json_response(await run_in_threadpool(_write, request, create), 201)


@router.get("/registration")
def list_registrations(request: Request, principal: Principal = Depends(reader)) -> Response:
    items = _read(request, lambda conn: subscriptions.list_all(conn, principal.partner_id))
    return json_response(
        {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
    )


@router.get("/registration/events")
def list_event_types(_principal: Principal = Depends(reader)) -> Response:
    return json_response(list(catalog.EVENT_TYPES))


@router.post("/registration/validationEvents")
async def send_test_event(request: Request, principal: Principal = Depends(writer)) -> Response:
    """A ``webhook.test`` event to one registration (``registrationId``) or to all active."""
    fields = await _body(request)
    wanted = fields.get("registrationid")
    if wanted is not None and not isinstance(wanted, str):
        raise InvalidRequest("registrationId must be a string.")

    def send(conn: Connection, now: datetime) -> dict[str, Any]:
        targets = subscriptions.test_targets(conn, principal.partner_id, wanted)
        event_ids = [
            events.record(
                conn,
                principal.partner_id,
                catalog.TEST,
                {"registrationId": target.id, "message": "A test event from ztd."},
                now,
                [target],
            )
            for target in targets
        ]
        return {"eventIds": event_ids, "attributes": {"objectType": "WebhookValidationEvents"}}

    return json_response(await run_in_threadpool(_queued, request, send))


@router.get("/registration/{registration_id}")
def get_registration(
    request: Request, registration_id: str, principal: Principal = Depends(reader)
) -> Response:
    return json_response(
        _read(
            request,
            lambda conn: subscriptions.resource(
                subscriptions.get(conn, principal.partner_id, registration_id)
            ),
        )
    )


@router.delete("/registration/{registration_id}")
def delete_registration(
    request: Request, registration_id: str, principal: Principal = Depends(writer)
) -> Response:
    _write(
        request,
        lambda conn, _now: subscriptions.remove(conn, principal.partner_id, registration_id),
    )
    return Response(status_code=204)


@router.put("/registration")
async def replace_only_registration(
    request: Request, principal: Principal = Depends(writer)
) -> Response:
    """Partner Center's form: the partner's one endpoint (409 when it holds several)."""
    return await _replace(request, principal, None)


@router.put("/registration/{registration_id}")
async def replace_registration(
    request: Request, registration_id: str, principal: Principal = Depends(writer)
) -> Response:
    """New webhookUrl and webhookEvents; a disabled registration is re-enabled."""
    return await _replace(request, principal, registration_id)


async def _replace(request: Request, principal: Principal, registration_id: str | None) -> Response:
    new = subscriptions.parse(parse_json(await read_body(request, MAX_BODY)))
    checked = await _checked_target(request, new)

    def replace(conn: Connection, now: datetime) -> dict[str, Any]:
        return subscriptions.replace(conn, principal.partner_id, registration_id, checked, now=now)

    return json_response(await run_in_threadpool(_write, request, replace))


@router.post("/registration/{registration_id}/rotateSecret")
async def rotate_secret(
    request: Request, registration_id: str, principal: Principal = Depends(writer)
) -> Response:
    """A new secret; the old one signs beside it for ``overlapSeconds`` (default a day)."""
    fields = await _body(request)
    overlap = fields.get("overlapseconds", 86400)
    longest = subscriptions.MAX_OVERLAP.total_seconds()
    # Checked before it becomes a timedelta, which overflows (a 500) past 10^9 days.
    if isinstance(overlap, bool) or not isinstance(overlap, int | float):
        raise InvalidRequest("overlapSeconds must be a number of seconds.")
    if not 0 <= overlap <= longest:
        raise InvalidRequest(f"overlapSeconds must be from 0 to {longest:.0f}.")

    def rotate(conn: Connection, now: datetime) -> dict[str, Any]:
        return subscriptions.rotate(
            conn, principal.partner_id, registration_id, timedelta(seconds=overlap), now
        )

    return json_response(await run_in_threadpool(_write, request, rotate))


@router.get("/registration/{registration_id}/deliveries")
def list_deliveries(
    request: Request, registration_id: str, principal: Principal = Depends(reader)
) -> Response:
    """The registration's deliveries, newest first, each with its attempts; paged."""
    token, size = _paging(request)
    return json_response(
        _read(
            request,
            lambda conn: history.deliveries_page(
                conn, principal.partner_id, registration_id, token=token, size=size
            ),
        )
    )


@router.get("/registration/{registration_id}/attempts")
def list_attempts(
    request: Request, registration_id: str, principal: Principal = Depends(reader)
) -> Response:
    """The flat list: the registration's newest attempts (at most 500), of one event with
    ``eventId``. The deliveries read above pages them all."""
    event_id = request.query_params.get("eventId")
    return json_response(
        _read(
            request,
            lambda conn: history.registration_log(
                conn, principal.partner_id, registration_id, event_id
            ),
        )
    )


@router.post("/registration/{registration_id}/replay")
async def replay_failed(
    request: Request, registration_id: str, principal: Principal = Depends(writer)
) -> Response:
    """Queue again the registration's failed deliveries of events since ``failedSince``."""
    fields = await _body(request)
    since = _time(fields.get("failedsince"), "failedSince")

    def replay(conn: Connection, now: datetime) -> int:
        return history.replay_failed(conn, principal.partner_id, registration_id, since, now)

    queued = await run_in_threadpool(_queued, request, replay)
    return json_response({"queued": queued, "attributes": {"objectType": "WebhookReplay"}})


@router.get("/registration/{registration_id}/listen")
async def poll_listen_channel(
    request: Request, registration_id: str, principal: Principal = Depends(writer)
) -> Response:
    """Long poll: the channel's events as soon as there are some, or none after ``wait``
    seconds (at most 30)."""
    wait_text = request.query_params.get("wait", "25")
    try:
        wait = float(wait_text)
    except ValueError:
        raise InvalidRequest("wait must be a number of seconds.") from None
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise InvalidRequest(f"wait must be from 0 to {MAX_WAIT_SECONDS:g} seconds.")
    deadline = time.monotonic() + wait

    def take(conn: Connection, now: datetime) -> list[dict[str, Any]]:
        return listen.take(conn, principal.partner_id, registration_id, now)

    while True:
        items = await run_in_threadpool(_write, request, take)
        if items or time.monotonic() >= deadline or await request.is_disconnected():
            return json_response({"items": items, "attributes": {"objectType": "WebhookEvents"}})
        await asyncio.sleep(LISTEN_POLL_SECONDS)


@router.get("/events/{event_id}")
def get_event(request: Request, event_id: str, principal: Principal = Depends(reader)) -> Response:
    return json_response(
        _read(request, lambda conn: history.event(conn, principal.partner_id, event_id))
    )


@router.get("/events/{event_id}/deliveries")
def list_event_deliveries(
    request: Request, event_id: str, principal: Principal = Depends(reader)
) -> Response:
    """The event's deliveries (one per registration it went to), newest first; paged."""
    token, size = _paging(request)
    return json_response(
        _read(
            request,
            lambda conn: history.event_deliveries_page(
                conn, principal.partner_id, event_id, token=token, size=size
            ),
        )
    )


@router.post("/events/{event_id}/replay")
def replay_event(
    request: Request, event_id: str, principal: Principal = Depends(writer)
) -> Response:
    """Queue the event again to its active registrations; ``skipped`` names the disabled
    ones (409 when all are)."""
    replayed = _queued(
        request, lambda conn, now: history.replay_event(conn, principal.partner_id, event_id, now)
    )
    return json_response({**replayed, "attributes": {"objectType": "WebhookReplay"}})


def _paging(request: Request) -> tuple[str | None, int]:
    """The continuation token (MS-ContinuationToken, else ?continuationToken=, as on /v1)
    and the page size (?size=, 1 to history.MAX_PAGE_SIZE)."""
    token = request.headers.get("ms-continuationtoken") or request.query_params.get(
        "continuationToken"
    )
    text = request.query_params.get("size", str(history.PAGE_SIZE))
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= history.MAX_PAGE_SIZE:
        raise InvalidRequest(f"size must be a whole number from 1 to {history.MAX_PAGE_SIZE}.")
    return token or None, int(text)


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} is required: an ISO 8601 time such as 2026-11-30T00:00:00Z.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} is not an ISO 8601 time: {value[:60]!r}.") from None
    if parsed.tzinfo is None:
        raise InvalidRequest(f"{name} needs a time zone (Z or +00:00).")
    return parsed
