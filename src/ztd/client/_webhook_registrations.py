"""Managing webhook registrations as requests, shared by the sync and async fluent
operations (docs/webhooks.md, "Registering"):

- ``GET /webhooks/v1/registration`` the partner's registrations, ``POST`` a new one (its
  ``secret`` shown this once);
- ``GET``, ``PUT`` (new URL and events; re-enables a disabled one) and ``DELETE``
  ``/webhooks/v1/registration/{id}``;
- ``POST .../{id}/rotateSecret``, ``POST .../{id}/replay``, ``POST .../validationEvents``;
- ``GET /webhooks/v1/registration/events`` the event types, and
  ``POST /webhooks/v1/events/{id}/replay``.

The arguments are checked for their shape here (a ValueError naming the argument, before
anything is sent); what they mean (a URL the service may call, a known event type) is the
service's to judge, and a refusal comes back as BadInputError naming each problem."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ztd.client._request import WEBHOOKS_ROOT, ApiRequest, segment
from ztd.wire import WebhookRegistrationRequest

# The longest rotation overlap the service allows (7 days), and its default (a day); the
# CLI's --overlap checks against these too.
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600


def list_registrations() -> ApiRequest:
    return ApiRequest("GET", "/registration", root=WEBHOOKS_ROOT)


def create_registration(url: str, events: Iterable[str]) -> ApiRequest:
    return ApiRequest("POST", "/registration", json=_body(url, events), root=WEBHOOKS_ROOT)


def get_registration(registration_id: str) -> ApiRequest:
    return ApiRequest("GET", _one(registration_id), root=WEBHOOKS_ROOT)


def replace_registration(registration_id: str, url: str, events: Iterable[str]) -> ApiRequest:
    return ApiRequest("PUT", _one(registration_id), json=_body(url, events), root=WEBHOOKS_ROOT)


def delete_registration(registration_id: str) -> ApiRequest:
    return ApiRequest("DELETE", _one(registration_id), root=WEBHOOKS_ROOT)


def rotate_secret(registration_id: str, overlap_seconds: float) -> ApiRequest:
    """ValueError unless ``overlap_seconds`` is a number from 0 to 7 days."""
    if isinstance(overlap_seconds, bool) or not isinstance(overlap_seconds, int | float):
        raise ValueError(f"overlap_seconds must be a number of seconds, got {overlap_seconds!r}")
    if not 0 <= overlap_seconds <= MAX_OVERLAP_SECONDS:
        raise ValueError(
            f"overlap_seconds must be from 0 to {MAX_OVERLAP_SECONDS} (7 days), "
            f"got {overlap_seconds}"
        )
    return ApiRequest(
        "POST",
        f"{_one(registration_id)}/rotateSecret",
        json={"overlapSeconds": overlap_seconds},
        root=WEBHOOKS_ROOT,
    )


def replay_failed(registration_id: str, failed_since: datetime) -> ApiRequest:
    """ValueError unless ``failed_since`` is a datetime with its time zone."""
    if not isinstance(failed_since, datetime):
        raise ValueError(f"failed_since must be a datetime, got {failed_since!r}")
    if failed_since.utcoffset() is None:
        raise ValueError(
            f"failed_since {failed_since.isoformat()} has no time zone: "
            "give one, e.g. datetime(..., tzinfo=timezone.utc)"
        )
    return ApiRequest(
        "POST",
        f"{_one(registration_id)}/replay",
        json={"failedSince": failed_since.isoformat()},
        root=WEBHOOKS_ROOT,
    )


def send_test(registration_id: str | None) -> ApiRequest:
    """A ``webhook.test`` to one registration, or (None) to every active one."""
    body = {}
    if registration_id is not None:
        segment(registration_id, "registration_id")  # refused as an id in a path would be
        body["registrationId"] = registration_id.strip()
    return ApiRequest("POST", "/registration/validationEvents", json=body, root=WEBHOOKS_ROOT)


def event_types() -> ApiRequest:
    return ApiRequest("GET", "/registration/events", root=WEBHOOKS_ROOT)


def replay_event(event_id: str) -> ApiRequest:
    return ApiRequest("POST", f"/events/{segment(event_id, 'event_id')}/replay", root=WEBHOOKS_ROOT)


def _one(registration_id: str) -> str:
    return f"/registration/{segment(registration_id, 'registration_id')}"


def _body(url: str, events: Iterable[str]) -> dict[str, object]:
    """The POST/PUT body. ValueError for a URL that is not a non-empty string, or events
    that are not a non-empty collection of strings (a lone string is refused rather than
    read letter by letter)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"url must be a non-empty string (the http(s):// endpoint), got {url!r}")
    if isinstance(events, str | bytes):
        raise ValueError(f"events must be a list of event types, not the string {events!r}")
    wanted = list(events)
    if not wanted:
        raise ValueError("events must name at least one event type")
    for index, name in enumerate(wanted):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"events[{index}] must be an event type (a string), got {name!r}")
    return WebhookRegistrationRequest(webhook_url=url, webhook_events=wanted).to_wire()
