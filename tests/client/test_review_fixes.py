"""Client behaviour fixed after a review, over httpx.MockTransport (a scripted network):
Retry-After values nobody can wait, answers of the wrong shape, paging tokens that come
round again, ids URLs cannot hold, a /v1 base URL for the token endpoint, and status polls
that ride out a service restart."""

from __future__ import annotations

import httpx
import pytest

from tests.client.conftest import FakeTime
from tests.client.test_transport_policy import CID, PC_ERROR, Script, sdk
from ztd.client import BatchUploadPoller, PollingTimeoutError, ServerBusyError
from ztd.client._lro import PollBackoff
from ztd.client.credentials import token_url
from ztd.client.errors import UnexpectedResponseError
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


def test_an_answer_of_the_wrong_shape_is_an_sdk_error() -> None:
    script = Script([httpx.Response(200, json={"items": 5})])
    with pytest.raises(UnexpectedResponseError, match="items"):
        sdk(script, FakeTime()).customers.by_id(CID).device_batches.get()


def test_paging_stops_when_a_token_comes_round_again() -> None:
    def page(token: str) -> httpx.Response:
        return httpx.Response(200, json={"totalCount": 0, "items": [], "continuationToken": token})

    script = Script([page("A"), page("B"), page("A")])
    with pytest.raises(UnexpectedResponseError, match="returned before"):
        sdk(script, FakeTime()).customers.by_id(CID).device_batches.get()
    assert len(script.requests) == 3


def test_ids_a_url_cannot_hold_are_refused() -> None:
    batches = sdk(Script([httpx.Response(200)]), FakeTime()).customers.by_id(CID).device_batches
    for bad in (".", ".."):
        with pytest.raises(ValueError, match="cannot be addressed"):
            batches.by_id(bad).devices.get()


def test_the_token_endpoint_is_under_the_service_root() -> None:
    for base in ("http://ztd.example:8000", "http://ztd.example:8000/v1/"):
        assert token_url(base) == "http://ztd.example:8000/oauth2/token"


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


def test_an_unmapped_client_error_is_not_a_server_error() -> None:
    from ztd.client import HttpResponseError, ServerError

    script = Script([httpx.Response(422, json=PC_ERROR)])
    with pytest.raises(HttpResponseError) as caught:
        sdk(script, FakeTime()).customers.by_id(CID).device_batches.get()
    assert not isinstance(caught.value, ServerError) and caught.value.status == 422


def test_an_issuer_in_trouble_is_not_reported_as_bad_credentials() -> None:
    from ztd.client import ClientCredentials, ServerError, UnauthorizedError

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"code": "503", "description": "restarting"})

    credentials = ClientCredentials(
        "http://ztd.test/v1", "app", "s", transport=httpx.MockTransport(busy)
    )
    with pytest.raises(ServerError) as caught:
        credentials.get_token()
    assert not isinstance(caught.value, UnauthorizedError) and caught.value.status == 503


def test_a_short_lived_token_is_used_for_half_its_life() -> None:
    from ztd.client import AccessToken
    from ztd.client.credentials import BearerTokenCache

    now = [1000.0]
    cache = BearerTokenCache(("scope",), now=lambda: now[0])
    cache.store(AccessToken("short", int(now[0]) + 300))  # within the usual 5-minute margin
    assert cache.current() == "short"
    now[0] += 140
    assert cache.current() == "short"
    now[0] += 20
    assert cache.current() is None
