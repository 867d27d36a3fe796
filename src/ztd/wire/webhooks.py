"""ztd's webhook API as it travels on the wire (``/webhooks/v1``, a ztd extension of
Partner Center): registrations, the bodies that make and change them, the answers to a test
send and a replay, and the delivery log read back from the deliveries pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ztd.wire.base import WireModel


class WebhookAttempt(WireModel):
    """One try at sending an event to a registration's URL. ``status_code`` is the
    receiver's HTTP status (absent when none came: ``error`` says why); ``latency_ms`` is
    milliseconds from connect to the answer; ``response_excerpt`` the answer's first
    kilobyte."""

    event_id: str
    registration_id: str
    attempt: int
    attempted_time: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


class WebhookDelivery(WireModel):
    """An event's delivery to one registration: ``status`` is pending, sending, delivered,
    failed or cancelled; ``attempts`` counts the tries so far, ``attempt_log`` lists them
    (oldest first); ``type`` and ``created_time`` are the event's."""

    event_id: str
    registration_id: str
    status: str
    attempts: int = 0
    type: str | None = None
    created_time: datetime | None = None
    next_attempt_time: datetime | None = None
    delivered_time: datetime | None = None
    attempt_log: list[WebhookAttempt] = Field(default_factory=list)


class WebhookRegistration(WireModel):
    """A webhook registration: ``webhook_url`` the endpoint events are POSTed to (absent on
    a listen channel, ``listen`` true), ``webhook_events`` the event types it receives,
    ``status`` active or disabled (then ``disabled_reason`` and ``disabled_time`` say why
    and since when). ``secret`` (``whsec_...``) is only in the answer to a create or a
    secret rotation: the service never shows it again. ``previous_secret_expires_time``:
    until then, during a rotation's overlap, the old secret signs too."""

    id: str
    webhook_url: str | None = None
    webhook_events: list[str] = Field(default_factory=list)
    status: str = "active"
    listen: bool = False
    created_time: datetime | None = None
    disabled_reason: str | None = None
    disabled_time: datetime | None = None
    expires_time: datetime | None = None
    previous_secret_expires_time: datetime | None = None
    secret: str | None = None


class WebhookRegistrationRequest(WireModel):
    """The body of a create (POST) or a replace (PUT): the endpoint and its event types."""

    webhook_url: str
    webhook_events: list[str]


class WebhookTestEvents(WireModel):
    """The answer to a test send: the ``webhook.test`` events queued, one per registration."""

    event_ids: list[str]


class WebhookReplaySkipped(WireModel):
    """A registration an event replay left out: it is disabled (``reason`` says since when,
    why, and how to re-enable it)."""

    registration_id: str
    reason: str


class WebhookReplay(WireModel):
    """The answer to a replay: how many deliveries were queued again and, for an event's
    replay, the disabled registrations it left out."""

    queued: int
    skipped: list[WebhookReplaySkipped] = Field(default_factory=list)
