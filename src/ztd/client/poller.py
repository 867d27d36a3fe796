# Generated from ztd/client/aio/poller.py by scripts/unasync_client.py: edit that file.
"""The poller a batch upload or policy update returns: follow its job to the final
BatchUploadDetails.

Written once: the async original is ``ztd/client/aio/poller.py``, and
``ztd/client/poller.py`` is generated from it by ``make unasync`` (scripts/unasync_client.py).
Edit the async one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ztd.client._lro import (
    PollBackoff,
    StatusLocation,
    is_terminal,
    timeout_error,
)
from ztd.client._request import parse_model
from ztd.client.errors import ServerError, ServiceRequestError, ThrottledError
from ztd.client.retry import parse_retry_after
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType

from ._pipeline import Pipeline

__all__ = ["BatchUploadPoller"]

ProgressCallback = Callable[[BatchUploadDetails], None]
# No answer, or the service's own trouble: worth another look later while waiting.
TRANSIENT_POLL_ERRORS = (ServiceRequestError, ServerError, ThrottledError)
MAX_OUTAGE_SECONDS = 300.0


class BatchUploadPoller:
    """Tracks one batch job (an upload or a policy update).

    ``status()`` and ``done()`` read the status once (no read after the job finished);
    ``wait()`` and ``result()`` poll until it finishes, honouring ``Retry-After``.
    A job started elsewhere (another process, an earlier run) is resumed from its
    ``continuation_token()`` by the client: ``client.poller_from_continuation_token(token)``
    (the poller knows only the pipeline it polls through, not the client).
    """

    def __init__(self, pipeline: Pipeline, where: StatusLocation) -> None:
        self._pipeline = pipeline
        self._where = where
        self._last: BatchUploadDetails | None = None
        self._retry_after: float | None = None

    @property
    def location(self) -> str:
        return self._where.location

    @property
    def tracking_id(self) -> str:
        return self._where.tracking_id

    @property
    def customer_id(self) -> str:
        return self._where.customer_id

    @property
    def last_status(self) -> BatchUploadDetails | None:
        """The last BatchUploadDetails read, without a request."""
        return self._last

    def continuation_token(self) -> str:
        return self._where.continuation_token()

    def poll(self) -> BatchUploadDetails:
        """Read the status now (one GET)."""
        response = self._pipeline.send(self._where.request())
        self._retry_after = parse_retry_after(response.headers.get("retry-after"))
        self._last = parse_model(response, BatchUploadDetails)
        return self._last

    def status(self) -> DeviceUploadStatusType:
        if not is_terminal(self._last):
            self.poll()
        assert self._last is not None
        return self._last.status

    def done(self) -> bool:
        self.status()
        return is_terminal(self._last)

    def wait(
        self, timeout: float | None = None, *, on_update: ProgressCallback | None = None
    ) -> None:
        """Poll until the job finishes; PollingTimeoutError (with the last status) after
        ``timeout`` seconds. ``on_update`` is called with every status read. A service that
        does not answer for a while (a restart, overload: what the pipeline's own retries
        could not ride out) does not end the wait, for up to MAX_OUTAGE_SECONDS in a row;
        the job runs on regardless."""
        clock, sleep = self._pipeline.clock, self._pipeline.sleep
        deadline = math.inf if timeout is None else clock() + timeout
        backoff = PollBackoff()
        failing_since: float | None = None
        while True:
            details = self._last
            if not is_terminal(details):
                try:
                    details = self.poll()
                except TRANSIENT_POLL_ERRORS:
                    failing_since = clock() if failing_since is None else failing_since
                    if clock() - failing_since > MAX_OUTAGE_SECONDS:
                        raise
                    self._retry_after = None
                else:
                    failing_since = None
                    if on_update is not None:
                        on_update(details)
            elif on_update is not None and details is not None:
                on_update(details)
            if is_terminal(details):
                return
            remaining = deadline - clock()
            if remaining <= 0:
                raise timeout_error(self._where, self._last, timeout)
            sleep(min(backoff.next(self._retry_after), remaining))

    def result(
        self, timeout: float | None = None, *, on_update: ProgressCallback | None = None
    ) -> BatchUploadDetails:
        """The final BatchUploadDetails (per-device errors are in ``devices_status``)."""
        self.wait(timeout, on_update=on_update)
        assert self._last is not None
        return self._last

    def __repr__(self) -> str:
        state = self._last.status.value if self._last is not None else "not read"
        return f"<{type(self).__name__} {self.tracking_id} {state}>"
