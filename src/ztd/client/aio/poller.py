"""The poller a batch upload or policy update returns: follow its job to the final
BatchUploadDetails.

Written once: the async original is ``ztd/client/aio/poller.py``, and
``ztd/client/poller.py`` is generated from it by ``make unasync`` (scripts/unasync_client.py).
Edit the async one.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable

from ztd.client import _job_events
from ztd.client._lro import (
    Outage,
    PollBackoff,
    StatusLocation,
    is_terminal,
    timeout_error,
)
from ztd.client._request import parse_model
from ztd.client.errors import (
    NotFoundError,
    PartnerError,
    ServerError,
    ServiceRequestError,
    ThrottledError,
)
from ztd.client.retry import parse_retry_after
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType

from ._pipeline import AsyncPipeline

__all__ = ["AsyncBatchUploadPoller"]

ProgressCallback = Callable[[BatchUploadDetails], None]
# No answer, or the service's own trouble: worth another look later while waiting.
TRANSIENT_POLL_ERRORS = (ServiceRequestError, ServerError, ThrottledError)
log = logging.getLogger("ztd.client")


class AsyncBatchUploadPoller:
    """Tracks one batch job (an upload or a policy update).

    ``status()`` and ``done()`` read the status once (no read after the job finished);
    ``wait()`` and ``result()`` poll until it finishes, honouring ``Retry-After``, or with
    ``via_events=True`` wait on the job's completion event instead (a few status reads).
    A job started elsewhere (another process, an earlier run) is resumed from its
    ``continuation_token()`` by the client: ``client.poller_from_continuation_token(token)``
    (the poller knows only the pipeline it polls through, not the client).
    """

    def __init__(self, pipeline: AsyncPipeline, where: StatusLocation) -> None:
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

    async def poll(self) -> BatchUploadDetails:
        """Read the status now (one GET)."""
        response = await self._pipeline.send(self._where.request())
        self._retry_after = parse_retry_after(response.headers.get("retry-after"))
        self._last = parse_model(response, BatchUploadDetails)
        return self._last

    async def status(self) -> DeviceUploadStatusType:
        if not is_terminal(self._last):
            await self.poll()
        assert self._last is not None
        return self._last.status

    async def done(self) -> bool:
        await self.status()
        return is_terminal(self._last)

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_update: ProgressCallback | None = None,
        via_events: bool = False,
    ) -> None:
        """Wait until the job finishes; PollingTimeoutError (with the last status) after
        ``timeout`` seconds. ``on_update`` is called with every status read. A service that
        does not answer for a while (a restart, overload: what the pipeline's own retries
        could not ride out) does not end the wait, for up to ``Outage.MAX_SECONDS`` (300) in
        a row; the job runs on regardless.

        By default the status is polled, as often as ``Retry-After`` says (at most a minute
        apart; ztd says 1 s while a job runs), else after 1 s, 2 s, 4 s, then every 5 s: a
        job of N seconds costs N/5 to N status reads.

        ``via_events=True`` waits on the job's ``devicebatch.job.completed`` /
        ``devicepolicy.job.completed`` event instead: it opens a temporary listen channel
        for the partner (what `ztd listen` uses; the token must be allowed to write), reads
        the status once (the job may have finished before the channel opened), long-polls
        the channel (25 s at a time) until the event of this tracking id comes, then reads
        the status once more (at the timeout if the event has not come by then: polling
        reads once more then too). While no event comes it also reads the status after 1 s,
        2 s, 4 s ... of listening, at most a minute apart: a job that finished before the
        channel opened while its status was held back (an emulator hold) sends the channel
        no event. A job of a minute costs 7 status reads, of ten minutes 16.
        The channel is removed when the wait ends, however it ends (timeout, error,
        KeyboardInterrupt, cancellation); should that fail, the server removes it a minute
        after its last poll. The partner's other events on it are dropped; other partners'
        never reach it. Timeout, ``on_update`` and outage rules are the polling ones. Should
        the status still say the job runs once its event has come (a service that sends it
        ahead of the status), the rest of the wait polls.

        It falls back to polling, for the whole wait, when no channel can be opened: a
        service without the webhook API (404) or whose answer is not a listen
        registration, a token that may only read (403), the partner's 10 listen channels
        all taken (409), or any other failure to open one (logged on the ``ztd.client``
        logger); and for the rest of the wait when the channel disappears under it (404:
        the service was away for longer than the channel's minute)."""
        deadline = math.inf if timeout is None else self._pipeline.clock() + timeout
        if via_events and not is_terminal(self._last):
            channel = await self._open_channel()
            if channel is not None:
                try:
                    if await self._wait_for_event(channel, deadline, timeout, on_update):
                        return
                finally:
                    await self._close_channel(channel)
        await self._poll_until(deadline, timeout, on_update)

    async def _poll_until(
        self, deadline: float, timeout: float | None, on_update: ProgressCallback | None
    ) -> None:
        clock, sleep = self._pipeline.clock, self._pipeline.sleep
        backoff = PollBackoff()
        outage = Outage(clock)
        while True:
            details = self._last
            if not is_terminal(details):
                details = await self._read(outage, on_update)
            elif on_update is not None and details is not None:
                on_update(details)
            if is_terminal(details):
                return
            remaining = deadline - clock()
            if remaining <= 0:
                raise timeout_error(self._where, self._last, timeout)
            await sleep(min(backoff.next(self._retry_after), remaining))

    async def _wait_for_event(
        self,
        channel: str,
        deadline: float,
        timeout: float | None,
        on_update: ProgressCallback | None,
    ) -> bool:
        """True once the job finished; False when polling must take over: the channel is
        gone, or the event came while the status still says the job runs."""
        clock, sleep = self._pipeline.clock, self._pipeline.sleep
        backoff = PollBackoff()
        outage = Outage(clock)
        rounds = _job_events.ReadRounds()
        read_at = clock()  # now: the job may have finished before the channel opened
        announced = False  # the job's event has come
        while True:
            remaining = deadline - clock()
            if clock() >= read_at or remaining <= 0:
                details = await self._read(outage, on_update)
                if is_terminal(details):
                    return True
                if remaining <= 0:
                    raise timeout_error(self._where, self._last, timeout)
                if announced and details is not None:
                    log.info("job %s: its event came before its status; polling", self.tracking_id)
                    return False
                if details is None:  # the service failed: read again after a pause
                    await sleep(min(backoff.next(None), remaining))
                    continue
                # No event by then: read again (see ReadRounds for why).
                read_at = clock() + rounds.next()
            listen = min(deadline, read_at) - clock()
            try:
                response = await self._pipeline.send(_job_events.take_request(channel, listen))
            except NotFoundError:
                log.info("listen channel %s is gone; polling job %s", channel, self.tracking_id)
                return False
            except TRANSIENT_POLL_ERRORS:
                if outage.too_long():
                    raise
                await sleep(min(backoff.next(None), max(deadline - clock(), 0.0)))
                continue
            outage.over()
            if _job_events.announces(response, self._where):
                announced, read_at = True, clock()

    async def _read(
        self, outage: Outage, on_update: ProgressCallback | None
    ) -> BatchUploadDetails | None:
        """The status now, or None when the service failed (for less than an outage)."""
        try:
            details = await self.poll()
        except TRANSIENT_POLL_ERRORS:
            if outage.too_long():
                raise
            self._retry_after = None
            return None
        outage.over()
        if on_update is not None:
            on_update(details)
        return details

    async def _open_channel(self) -> str | None:
        """A new listen channel's id; None when the service will not open one."""
        try:
            response = await self._pipeline.send(_job_events.open_request())
        except PartnerError as exc:
            log.info("no listen channel (%s); polling job %s", exc, self.tracking_id)
            return None
        channel = _job_events.channel_id(response)
        if channel is None:
            log.info("no listen channel in the answer; polling job %s", self.tracking_id)
        return channel

    async def _close_channel(self, channel: str) -> None:
        with contextlib.suppress(PartnerError):  # the server removes it a minute later anyway
            await self._pipeline.send(_job_events.close_request(channel))

    async def result(
        self,
        timeout: float | None = None,
        *,
        on_update: ProgressCallback | None = None,
        via_events: bool = False,
    ) -> BatchUploadDetails:
        """The final BatchUploadDetails (per-device errors are in ``devices_status``);
        ``wait()`` says what the arguments do."""
        await self.wait(timeout, on_update=on_update, via_events=via_events)
        assert self._last is not None
        return self._last

    def __repr__(self) -> str:
        state = self._last.status.value if self._last is not None else "not read"
        return f"<{type(self).__name__} {self.tracking_id} {state}>"
