"""The retry policy, the error mapping and the credentials, over httpx.MockTransport (a
scripted network: these are the client's own rules, so no server logic is imitated)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.fake_time import FakeTime
from tests.support.sdk import CID, PC_ERROR, Script, sdk
from ztd.client import (
    AccessToken,
    BadInputError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PartnerClient,
    PartnerError,
    RetryPolicy,
    ServerBusyError,
    ServerError,
    ServiceRequestError,
    ThrottledError,
    UnauthorizedError,
    aio,
)
from ztd.client._lro import PollBackoff, StatusLocation
from ztd.client.credentials import BearerTokenCache
from ztd.client.retry import parse_retry_after


def list_batches(partner: PartnerClient) -> object:
    return partner.customers.by_id(CID).device_batches.get()


EMPTY = {"totalCount": 0, "items": [], "attributes": {"objectType": "Collection"}}


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_retried_three_times_with_dotnet_backoff(status: int) -> None:
    script, time = Script([httpx.Response(status, json=PC_ERROR)]), FakeTime()
    with pytest.raises(PartnerError) as caught:
        list_batches(sdk(script, time))
    assert len(script.requests) == 4
    assert time.sleeps == [0.5, 1.5, 3.5]
    assert len(set(script.header("ms-requestid"))) == 1
    assert caught.value.status == status
    if status >= 500:
        assert isinstance(caught.value, ServerError)


def test_success_after_transient_failures_and_ids_per_call() -> None:
    script = Script(
        [
            httpx.Response(503, json=PC_ERROR),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=EMPTY),
        ]
    )
    time = FakeTime()
    partner = sdk(script, time)
    list_batches(partner)
    assert time.sleeps == [0.5, 1.5]
    assert len(set(script.header("ms-requestid"))) == 1
    assert len(set(script.header("ms-correlationid"))) == 1
    list_batches(partner)  # a second logical call: fresh ids
    assert len(set(script.header("ms-requestid"))) == 2
    assert len(set(script.header("ms-correlationid"))) == 2
    first = script.requests[0]
    assert first.url == f"https://pc.example/v1/customers/{CID}/deviceBatches"
    assert first.headers["authorization"] == "Bearer t0k3n"
    assert first.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadInputError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
    ],
)
def test_client_errors_are_not_retried(status: int, error: type[PartnerError]) -> None:
    answer = httpx.Response(
        status,
        json={**PC_ERROR, "code": str(status)},
        headers={"MS-RequestId": "rid", "MS-CorrelationId": "cid"},
    )
    script, time = Script([answer]), FakeTime()
    with pytest.raises(error) as caught:
        list_batches(sdk(script, time))
    assert len(script.requests) == 1 and time.sleeps == []
    e = caught.value
    assert (e.status, e.code, e.description) == (status, str(status), PC_ERROR["description"])
    assert (e.request_id, e.correlation_id, e.source) == ("rid", "cid", "PC")


def test_throttling_waits_retry_after_and_reads_the_gateway_body() -> None:
    gateway = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 2 seconds."}
    script = Script(
        [
            httpx.Response(429, json=gateway, headers={"Retry-After": "2"}),
            httpx.Response(200, json=EMPTY),
        ]
    )
    time = FakeTime()
    list_batches(sdk(script, time))
    assert time.sleeps == [2.0]

    long_wait = httpx.Response(429, json=gateway, headers={"Retry-After": "600"})
    script, time = Script([long_wait]), FakeTime()
    with pytest.raises(ThrottledError) as caught:
        list_batches(sdk(script, time))
    assert time.sleeps == []  # longer than the policy's limit: the caller decides
    assert caught.value.retry_after == 600
    assert caught.value.description == gateway["message"]


def test_connection_failure_is_one_service_request_error() -> None:
    script, time = Script([httpx.ConnectError("[Errno 111] Connection refused")]), FakeTime()
    with pytest.raises(ServiceRequestError) as caught:
        list_batches(sdk(script, time))
    assert len(script.requests) == 4
    message = str(caught.value)
    assert message.startswith("cannot reach https://pc.example (GET /customers/")
    assert message.endswith("after 4 attempts: [Errno 111] Connection refused")


def test_error_without_json_body_keeps_its_text() -> None:
    script = Script([httpx.Response(503, text="upstream down")])
    with pytest.raises(ServerBusyError, match="upstream down"):
        list_batches(sdk(script, FakeTime(), retry=RetryPolicy(max_retries=0)))


@dataclass
class CountingCredential:
    lifetime: float
    now: Callable[[], float]
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(f"token-{len(self.scopes)}", int(self.now() + self.lifetime))


def test_credential_token_is_cached_and_refreshed_before_expiry() -> None:
    clock = [1_000_000.0]
    cache = BearerTokenCache(("s",), now=lambda: clock[0])
    assert cache.current() is None
    cache.store(AccessToken("a", int(clock[0] + 3600)))
    assert cache.current() == "a"
    clock[0] += 3600 - 301
    assert cache.current() == "a"
    clock[0] += 2  # within five minutes of expiry: time for a new one
    assert cache.current() is None


def test_credential_is_asked_with_partner_center_scope_and_reused() -> None:
    import time as real_time

    cred = CountingCredential(3600, real_time.time)
    script = Script([httpx.Response(200, json=EMPTY)])
    partner = sdk(script, FakeTime(), token=None, credential=cred)
    list_batches(partner)
    list_batches(partner)
    assert cred.scopes == [("https://api.partnercenter.microsoft.com/.default",)]
    assert script.header("authorization") == ["Bearer token-1"] * 2


def test_rejected_token_is_refreshed_once() -> None:
    import time as real_time

    cred = CountingCredential(3600, real_time.time)
    script = Script([httpx.Response(401, json=PC_ERROR), httpx.Response(200, json=EMPTY)])
    list_batches(sdk(script, FakeTime(), token=None, credential=cred))
    assert script.header("authorization") == ["Bearer token-1", "Bearer token-2"]

    script = Script([httpx.Response(401, json=PC_ERROR)])
    with pytest.raises(UnauthorizedError):
        list_batches(sdk(script, FakeTime(), token=None, credential=cred))
    assert len(script.requests) == 2


def test_client_credentials_against_a_token_endpoint() -> None:
    def issuer(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if form != {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s"}:
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "no"})
        return httpx.Response(200, json={"access_token": "issued", "expires_in": 60})

    from ztd.client import ClientCredentials

    good = ClientCredentials("http://ztd.test/", "app", "s", transport=httpx.MockTransport(issuer))
    token = good.get_token("ignored")
    assert token.token == "issued"
    bad = ClientCredentials("http://ztd.test", "app", "x", transport=httpx.MockTransport(issuer))
    with pytest.raises(UnauthorizedError, match="invalid_client: no"):
        bad.get_token()


@pytest.mark.anyio
async def test_async_client_accepts_async_credentials_and_retries() -> None:
    calls: list[str] = []

    class AsyncCredential:
        async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            calls.append("token")
            return AccessToken("async-token", 2**40)

    script = Script([httpx.Response(502, json=PC_ERROR), httpx.Response(200, json=EMPTY)])
    time = FakeTime()
    async with aio.PartnerClient(
        "https://pc.example",
        credential=AsyncCredential(),
        transport=httpx.MockTransport(script),
        sleep=time.async_sleep,
        clock=time.clock,
    ) as partner:
        await partner.customers.by_id(CID).device_batches.get()
    assert calls == ["token"] and time.sleeps == [0.5]
    assert script.header("authorization") == ["Bearer async-token"] * 2


def test_retry_after_forms_and_poll_backoff() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    backoff = PollBackoff()
    assert [backoff.next(None) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.next(1.0) == 1.0


def test_location_forms() -> None:
    tid = "beba2053-5401-46ff-9223-7e841ed78fbf"
    for location in (
        f"/customers/{CID}/batchJobStatus/{tid}",
        f"/v1/customers/{CID}/batchjobstatus/{tid}",
        f"https://api.partnercenter.microsoft.com/v1/customers/{CID}/batchJobStatus/{tid}",
    ):
        where = StatusLocation.parse(location)
        assert (where.customer_id, where.tracking_id) == (CID, tid)
    with pytest.raises(PartnerError):
        StatusLocation.parse(None)
    with pytest.raises(PartnerError):
        StatusLocation.parse("/somewhere/else")


def test_202_without_location_is_an_error_not_a_silent_empty_string() -> None:
    script = Script([httpx.Response(202)])
    partner = sdk(script, FakeTime())
    with pytest.raises(PartnerError, match="Location"):
        partner.customers.by_id(CID).device_batches.create(
            batch_id="b", devices=[{"serial_number": "1"}]
        )
