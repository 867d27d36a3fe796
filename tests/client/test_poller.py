"""The status poller over a scripted network (httpx.MockTransport): how long it waits
between polls, and how it rides out, or gives up on, a service that is down."""

from __future__ import annotations

import httpx
import pytest

from tests.support.fake_time import FakeTime
from tests.support.sdk import CID, PC_ERROR, Script, sdk
from ztd.client import BatchUploadPoller, PollingTimeoutError, ServerBusyError
from ztd.client._lro import PollBackoff
from ztd.client.retry import parse_retry_after

TRACKING = "2b6d4d1e-0000-4000-8000-000000000001"


LOCATION = f"/customers/{CID}/batchJobStatus/{TRACKING}"


def _status(state: str, retry_after: str | None = None) -> httpx.Response:
    body = {"batchTrackingId": TRACKING, "status": state, "devicesStatus": []}
    headers = {"Retry-After": retry_after} if retry_after else {}
    return httpx.Response(200, json=body, headers=headers)


def _start(script: Script, time: FakeTime) -> BatchUploadPoller:
    """An upload through ``script``, whose first answer must be the 202."""
    return (
        sdk(script, time)
        .customers.by_id(CID)
        .device_batches.create(
            batch_id="b", devices=[{"serial_number": "S", "product_key": "1234567890123"}]
        )
    )


def test_retry_after_must_be_a_finite_number_of_seconds() -> None:
    for bad in ("inf", "1e999", "nan", "-inf"):
        assert parse_retry_after(bad) is None
    assert parse_retry_after("7") == 7.0
    assert PollBackoff().next(86_400.0) == PollBackoff.MAX_POLL_WAIT


def test_a_status_poll_waits_at_most_a_minute_whatever_retry_after_says() -> None:
    time = FakeTime()
    script = Script(
        [
            httpx.Response(202, headers={"Location": LOCATION}),
            _status("processing", retry_after="1e12"),
            _status("finished"),
        ]
    )
    poller = _start(script, time)
    assert poller.result().status.value == "finished"
    assert time.sleeps == [60.0]


def test_waiting_rides_out_a_service_restart() -> None:
    time = FakeTime()
    down = httpx.ConnectError("connection refused")
    script = Script(
        [
            httpx.Response(202, headers={"Location": LOCATION}),
            *([down] * 8),  # two polls' worth of the pipeline's own retries
            httpx.Response(503, json=PC_ERROR),
            *([httpx.Response(503, json=PC_ERROR)] * 3),
            _status("finished"),
        ]
    )
    poller = _start(script, time)
    assert poller.result(timeout=600).status.value == "finished"


def test_an_outage_longer_than_five_minutes_ends_the_wait() -> None:
    time = FakeTime()
    script = Script(
        [httpx.Response(202, headers={"Location": LOCATION}), httpx.Response(503, json=PC_ERROR)]
    )
    poller = _start(script, time)
    with pytest.raises(ServerBusyError):
        poller.result()
    assert time.now - 1000.0 > 300.0


def test_the_timeout_still_ends_a_wait_during_an_outage() -> None:
    time = FakeTime()
    script = Script(
        [httpx.Response(202, headers={"Location": LOCATION}), httpx.Response(503, json=PC_ERROR)]
    )
    poller = _start(script, time)
    with pytest.raises(PollingTimeoutError):
        poller.result(timeout=30)
