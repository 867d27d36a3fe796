"""Long-running operations, the parts the sync and async pollers share: where the status
lives (from ``Location``), how long to wait between polls, and the continuation token."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from ztd.client._request import ApiRequest, segment
from ztd.client.errors import PollingTimeoutError, UnexpectedResponseError
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType

__all__ = [
    "Outage",
    "PollBackoff",
    "StatusLocation",
    "decode_continuation_token",
    "devices_done",
    "progress_of",
]

TOKEN_VERSION = 1
_TERMINAL = frozenset(
    {DeviceUploadStatusType.FINISHED, DeviceUploadStatusType.FINISHED_WITH_ERRORS}
)


@dataclass(frozen=True)
class StatusLocation:
    """A batch job's status resource: ``/customers/{cid}/batchJobStatus/{tracking-id}``."""

    location: str
    customer_id: str
    tracking_id: str

    @classmethod
    def parse(cls, location: str | None) -> StatusLocation:
        # Partner Center sends a relative path without /v1; tolerate an absolute URL and a
        # /v1 prefix too, and the segment's case (batchJobStatus or batchjobstatus).
        if not location:
            raise UnexpectedResponseError(
                "202 Accepted without a Location header: the tracking id is unknown"
            )
        parts = [p for p in urlsplit(location).path.split("/") if p]
        lowered = [p.lower() for p in parts]
        try:
            c = lowered.index("customers")
            s = lowered.index("batchjobstatus")
            customer_id, tracking_id = parts[c + 1], parts[s + 1]
        except (ValueError, IndexError):
            raise UnexpectedResponseError(
                f"Location {location!r} is not /customers/{{id}}/batchJobStatus/{{tracking-id}}"
            ) from None
        return cls(location, customer_id, tracking_id)

    @classmethod
    def of(cls, customer_id: str, tracking_id: str) -> StatusLocation:
        path = (
            f"/customers/{segment(customer_id, 'customer_id')}"
            f"/batchJobStatus/{segment(tracking_id, 'tracking_id')}"
        )
        return cls(path, customer_id.strip(), tracking_id.strip())

    def request(self) -> ApiRequest:
        return ApiRequest(
            "GET",
            f"/customers/{segment(self.customer_id, 'customer_id')}"
            f"/batchJobStatus/{segment(self.tracking_id, 'tracking_id')}",
        )

    def continuation_token(self) -> str:
        payload = {
            "v": TOKEN_VERSION,
            "location": self.location,
            "customerId": self.customer_id,
            "trackingId": self.tracking_id,
        }
        return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_continuation_token(token: str) -> StatusLocation:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = orjson.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != TOKEN_VERSION:
            raise ValueError("unknown token version")
        return StatusLocation(
            str(payload["location"]), str(payload["customerId"]), str(payload["trackingId"])
        )
    except (ValueError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise ValueError(f"not a ztd poller continuation token: {token[:40]!r}") from None


class PollBackoff:
    """The wait before the next poll: the server's ``Retry-After`` when it sends one (at
    most MAX_POLL_WAIT: a job is worth a look every minute whatever a proxy says), else 1 s,
    2 s, 4 s, then 5 s for as long as it takes."""

    MAX_POLL_WAIT = 60.0

    def __init__(self, first: float = 1.0, ceiling: float = 5.0) -> None:
        self._next = first
        self._ceiling = ceiling

    def next(self, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.MAX_POLL_WAIT)
        delay = self._next
        self._next = min(self._next * 2, self._ceiling)
        return delay


class Outage:
    """How long the service has failed in a row while a wait goes on (no answer, or its own
    trouble: what the pipeline's own retries could not ride out). A wait rides out a restart
    or overload of up to MAX_SECONDS; the job runs on regardless."""

    MAX_SECONDS = 300.0

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._since: float | None = None

    def too_long(self) -> bool:
        """Count one more failure; True once they have gone on for over MAX_SECONDS."""
        now = self._clock()
        if self._since is None:
            self._since = now
        return now - self._since > self.MAX_SECONDS

    def over(self) -> None:
        """The service answered."""
        self._since = None


def is_terminal(details: BatchUploadDetails | None) -> bool:
    return details is not None and details.status in _TERMINAL


def devices_done(details: BatchUploadDetails) -> int:
    """How many devices have an outcome (registered or failed)."""
    return sum(1 for d in details.devices_status if d.status in _TERMINAL)


def progress_of(last: BatchUploadDetails | None) -> str:
    """Where a job stood at its last status read, for messages."""
    if last is None:
        return "no status was read"
    total = len(last.devices_status)
    return f"status {last.status.value}, {devices_done(last)} of {total} devices done"


def timeout_error(
    where: StatusLocation, last: BatchUploadDetails | None, timeout: float | None
) -> PollingTimeoutError:
    return PollingTimeoutError(
        f"batch job {where.tracking_id} did not finish within {timeout} s "
        f"({progress_of(last)}); "
        "poll again later, or resume with the poller's continuation token",
        tracking_id=where.tracking_id,
        last_status=last,
        continuation_token=where.continuation_token(),
    )
