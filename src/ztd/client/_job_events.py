"""Waiting on a batch job's ``*.job.completed`` event instead of polling its status: the
requests of the temporary listen channel the poller's ``wait(via_events=True)`` reads, and
how to read their answers. The same channel `ztd listen` uses (docs/webhooks.md):

- ``POST /webhooks/v1/registration`` ``{"listen": true, "webhookEvents": [...]}`` opens it
  (201, the registration with its ``id``);
- ``GET /webhooks/v1/registration/{id}/listen?wait=s`` answers ``{"items": [...]}`` as soon
  as events are pending, or with none after ``wait`` seconds; each poll keeps the channel
  alive for another minute, and the server removes one nobody polls;
- ``DELETE /webhooks/v1/registration/{id}`` removes it.

The sync and async pollers share these; they only send them."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ztd.client._lro import StatusLocation
from ztd.client._request import WEBHOOKS_ROOT, ApiRequest, segment
from ztd.client.errors import UnexpectedResponseError

__all__ = [
    "JOB_EVENTS",
    "LONG_POLL_SECONDS",
    "ReadRounds",
    "announces",
    "channel_id",
    "close_request",
    "open_request",
    "take_request",
]

JOB_EVENTS = ("devicebatch.job.completed", "devicepolicy.job.completed")
# Per long poll (the server allows 30); it answers as soon as an event comes.
LONG_POLL_SECONDS = 25.0
# The HTTP timeout of a long poll: its wait plus this, for the answer to arrive.
LONG_POLL_SLACK_SECONDS = 10.0
# Between two status reads while no event came: 1 s, then twice the last, at most a minute.
FIRST_ROUND_SECONDS = 1.0
MAX_ROUND_SECONDS = 60.0
# Removing the channel on the way out: brief, since the server removes it anyway a minute
# after the last poll.
CLOSE_TIMEOUT_SECONDS = 5.0


class ReadRounds:
    """How long to listen before reading the status again, while the job's event has not
    come: 1 s, 2 s, 4 s ... at most MAX_ROUND_SECONDS.

    Why read again at all: a job may have finished before the channel opened (its event
    went to nobody) while something held its status back (an emulator hold, a replica
    behind), so the read after the channel opened said it runs and no event will ever
    come. Doubling keeps the reads few, about log2 of the job's seconds plus its minutes (a
    ten-minute job: 16), and sees such a finish at most one round late."""

    def __init__(self) -> None:
        self._last = 0.0

    def next(self) -> float:
        """The next round's seconds."""
        self._last = min(max(FIRST_ROUND_SECONDS, 2 * self._last), MAX_ROUND_SECONDS)
        return self._last


def open_request() -> ApiRequest:
    return ApiRequest(
        "POST",
        "/registration",
        json={"listen": True, "webhookEvents": list(JOB_EVENTS)},
        root=WEBHOOKS_ROOT,
    )


def channel_id(response: httpx.Response) -> str | None:
    """The id of the channel a 2xx answer to open_request() made; None when the answer is
    not a registration with an id (a service whose webhook API has no listen channels)."""
    try:
        body = response.json()
    except ValueError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    listen = body.get("listen") if isinstance(body, dict) else None
    return found if isinstance(found, str) and found.strip() and listen is True else None


def take_request(channel: str, wait: float) -> ApiRequest:
    """A long poll of at most ``wait`` seconds (0 to LONG_POLL_SECONDS)."""
    wait = max(0.0, min(wait, LONG_POLL_SECONDS))
    return ApiRequest(
        "GET",
        f"/registration/{segment(channel, 'channel id')}/listen?wait={wait:.3f}",
        root=WEBHOOKS_ROOT,
        timeout=wait + LONG_POLL_SLACK_SECONDS,
    )


def close_request(channel: str) -> ApiRequest:
    return ApiRequest(
        "DELETE",
        f"/registration/{segment(channel, 'channel id')}",
        root=WEBHOOKS_ROOT,
        timeout=CLOSE_TIMEOUT_SECONDS,
    )


def announces(response: httpx.Response, where: StatusLocation) -> bool:
    """Whether a long poll's answer has the completion event of the job at ``where``. The
    channel hands out each event once, so the partner's other jobs' events are read and
    dropped here (the channel is this wait's own)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise UnexpectedResponseError(
            f"{response.status_code} from {response.request.method} {response.request.url} "
            'is not a listen channel\'s {"items": [...]}',
            status=response.status_code,
        )
    wanted = where.tracking_id.lower()
    return any(_tracking_id(item) == wanted for item in items)


def _tracking_id(item: Any) -> str | None:
    """The tracking id of a job-completed event item (its ``payload`` is the signed JSON
    text); None for anything else."""
    if not isinstance(item, dict) or item.get("type") not in JOB_EVENTS:
        return None
    try:
        event = orjson.loads(item.get("payload") or b"")
    except orjson.JSONDecodeError:
        return None
    data = event.get("data") if isinstance(event, dict) else None
    found = data.get("trackingId") if isinstance(data, dict) else None
    return found.lower() if isinstance(found, str) else None
