"""ztd's webhook delivery log as it travels on the wire (``/webhooks/v1``, a ztd extension
of Partner Center): what the SDK reads back from the deliveries pages."""

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
