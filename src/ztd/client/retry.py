"""When to retry a call and how long to wait: the .NET SDK's policy.

Pure decisions, shared by the sync and async pipelines. Up to ``max_retries`` retries with
(2^n - 1)/2 s backoff (0.5, 1.5, 3.5) on 5xx, 408 and connection failures; never on the
client errors that a retry cannot fix; 429 waits the server's ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["RetryPolicy", "parse_retry_after"]

# Failures on the way to an answer that a second attempt may not meet. Protocol misuse
# (UnsupportedProtocol, LocalProtocolError, InvalidURL) would fail the same way again.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: tuple[float, ...] = (0.5, 1.5, 3.5)
    retry_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({408, 429, 500, 502, 503, 504})
    )
    # A 429 asking for a longer wait than this is raised at once (ThrottledError carries it).
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        if retry_after is not None:
            return retry_after
        if not self.backoff:
            return 0.0
        return self.backoff[min(attempt, len(self.backoff) - 1)]

    def after_status(self, attempt: int, status: int, retry_after: float | None) -> float | None:
        """The wait before retrying a response with ``status``, or None: do not retry."""
        if attempt >= self.max_retries:
            return None
        retryable = status in self.retry_statuses or status >= 500
        if not retryable:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        return self.delay(attempt, retry_after)

    def after_error(self, attempt: int, error: Exception) -> float | None:
        """The wait before retrying after a transport failure, or None: do not retry."""
        if attempt >= self.max_retries or not isinstance(error, RETRYABLE_TRANSPORT_ERRORS):
            return None
        return self.delay(attempt)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a delta (``57``) or an HTTP date. None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "inf", "nan" and 1e999 are no delay anyone can wait
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
