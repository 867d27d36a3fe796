"""The SDK against a real server on a port (uvicorn in a thread, embedded worker): real
sockets, real clock; polling waits what the server's Retry-After says, bounded by timeouts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.fake_time import FakeTime
from tests.support.live_server import free_port, live_server
from tests.support.sdk import devices
from tests.support.sdk_requests import Sent, channels
from tests.support.world import World
from ztd.client import (
    ClientCredentials,
    ForbiddenError,
    PartnerClient,
    ServiceRequestError,
    UnauthorizedError,
    aio,
)
from ztd.server.app import create_app
from ztd.server.clock import utc_now
from ztd.server.services.applications import add_application
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.wire import DeviceUploadStatusType


@pytest.fixture
def base_url(settings: Settings, db: Database, world: World) -> Iterator[str]:
    with live_server(create_app(settings, db=db, embedded_worker=True)) as url:
        yield url


def test_sync_upload_and_status_over_http(base_url: str, world: World) -> None:
    with PartnerClient(base_url, token=world.token) as partner:
        customer = partner.customers.by_id(world.customer)
        poller = customer.device_batches.create(batch_id="live", devices=devices(*range(60)))
        details = poller.result(timeout=30)
        assert details.status is DeviceUploadStatusType.FINISHED
        again = customer.batch_upload_status.by_id(poller.tracking_id).get()
        assert again == details
        assert len(customer.device_batches.by_id("live").devices.get().items) == 60


def test_waiting_on_the_completion_event_over_http(
    base_url: str, world: World, db: Database
) -> None:
    sent = Sent()
    http = httpx.Client(timeout=60, event_hooks={"request": [sent.record]})
    with http, PartnerClient(base_url, token=world.token, http_client=http) as partner:
        customer = partner.customers.by_id(world.customer)
        poller = customer.device_batches.create(batch_id="events", devices=devices(*range(300)))
        sent.requests.clear()
        details = poller.result(timeout=60, via_events=True)
        kinds = sent.kinds()
        assert details == customer.batch_upload_status.by_id(poller.tracking_id).get()
    assert details.status is DeviceUploadStatusType.FINISHED and len(details.devices_status) == 300
    assert kinds[0] == "POST registration" and kinds[-1] == "DELETE registration"
    # One read after the channel opened; one after the event, unless that one saw it done.
    assert kinds.count("GET status") == 2 or kinds.count("GET listen") == 0
    assert channels(db) == []


@pytest.mark.anyio
async def test_async_waiting_on_the_completion_event_over_http(
    base_url: str, world: World, db: Database
) -> None:
    async with aio.PartnerClient(base_url, token=world.token) as partner:
        customer = partner.customers.by_id(world.customer)
        poller = await customer.device_batches.create(batch_id="events", devices=devices(1, 2))
        details = await poller.result(timeout=30, via_events=True)
    assert details.status is DeviceUploadStatusType.FINISHED
    assert channels(db) == []


@pytest.mark.anyio
async def test_async_upload_and_status_over_http(base_url: str, world: World) -> None:
    async with aio.PartnerClient(base_url, token=world.token) as partner:
        customer = partner.customers.by_id(world.customer)
        poller = await customer.device_batches.create(batch_id="live", devices=devices(1, 2))
        details = await poller.result(timeout=30)
        status = await customer.batch_upload_status.by_id(poller.tracking_id).get()
    assert details.status is DeviceUploadStatusType.FINISHED
    assert status.batch_tracking_id == poller.tracking_id


def test_client_credentials_from_the_built_in_issuer(
    base_url: str, db: Database, world: World
) -> None:
    with db.write() as conn:
        client_id, secret = add_application(conn, world.partner, "rmm tool", utc_now())
    with PartnerClient(base_url, token=world.token) as user:
        user.customers.by_id(world.customer).device_batches.create(
            batch_id="by user", devices=devices(1)
        ).result(timeout=30)

    credential = ClientCredentials(base_url, client_id, secret)
    with PartnerClient(base_url, credential=credential) as app_only:
        customer = app_only.customers.by_id(world.customer)
        assert [b.id for b in customer.device_batches.list()] == ["by user"]
        # E1 is App+User only (as documented); E2 accepts app-only tokens.
        with pytest.raises(ForbiddenError) as refused:
            customer.device_batches.create(batch_id="by app", devices=devices(2))
        assert refused.value.code == "900150"
        added = customer.device_batches.by_id("by user").devices.create(devices(2))
        assert added.result(timeout=30).status is DeviceUploadStatusType.FINISHED

    wrong = ClientCredentials(base_url, client_id, "not the secret")
    with PartnerClient(base_url, credential=wrong) as nobody, pytest.raises(UnauthorizedError):
        nobody.customers.by_id(world.customer).device_batches.get()


def test_nothing_listening_is_a_service_request_error() -> None:
    time = FakeTime()
    url = f"http://127.0.0.1:{free_port()}"
    with (
        PartnerClient(url, token="t", sleep=time.sleep, clock=time.clock) as partner,
        pytest.raises(ServiceRequestError, match="cannot reach"),
    ):
        partner.customers.by_id("c").device_batches.get()
    assert time.sleeps == [0.5, 1.5, 3.5]
