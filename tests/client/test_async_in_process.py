"""The async SDK against the real app in-process, through httpx's ASGI transport."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.support.fake_time import FakeTime
from tests.support.sdk import PAGE_SIZE, devices
from tests.support.world import World
from ztd.client import ConflictError, NotFoundError, PollingTimeoutError
from ztd.client.aio import PartnerClient
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType

pytestmark = pytest.mark.anyio


def async_partner(app: FastAPI, world: World, fake_time: FakeTime) -> PartnerClient:
    return PartnerClient(
        "http://ztd.test",
        token=world.token,
        transport=httpx.ASGITransport(app=app),
        sleep=fake_time.async_sleep,
        clock=fake_time.clock,
    )


async def test_seed_csharp_sample_with_await(
    app: FastAPI, world: World, fake_time: FakeTime
) -> None:
    async with async_partner(app, world, fake_time) as partner:
        poller = await partner.customers.by_id(world.customer).device_batches.create(
            batch_id="SDKTestDeviceBatch", devices=devices(1, 2)
        )
        await poller.result(timeout=60)

        status = (
            await partner.customers.by_id(world.customer)
            .batch_upload_status.by_id(poller.tracking_id)
            .get()
        )

    assert isinstance(status, BatchUploadDetails)
    assert status.batch_tracking_id == poller.tracking_id
    assert status.status is DeviceUploadStatusType.FINISHED
    assert len(status.devices_status) == 2
    assert fake_time.sleeps == [1.0]  # Retry-After: 1 while queued


async def test_async_paging_delete_and_errors(
    app: FastAPI, world: World, fake_time: FakeTime
) -> None:
    count = PAGE_SIZE * 2 + 3
    async with async_partner(app, world, fake_time) as partner:
        customer = partner.customers.by_id(world.customer)
        poller = await customer.device_batches.create(batch_id="b", devices=devices(*range(count)))
        assert await poller.status() is DeviceUploadStatusType.QUEUED
        assert not await poller.done()
        await poller.wait(timeout=60)

        batches = await customer.device_batches.get()
        assert [(b.id, b.devices_count) for b in batches.items] == [("b", count)]
        assert [b.id async for b in customer.device_batches.list()] == ["b"]

        batch_devices = customer.device_batches.by_id("b").devices
        pages = [p async for p in batch_devices.pages()]
        assert [len(p.items) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 3]
        ids = [d.id async for d in batch_devices.list()]
        assert len(set(ids)) == count
        assert (await batch_devices.get()).total_count == count

        assert ids[0] is not None
        await batch_devices.by_id(ids[0]).delete()
        with pytest.raises(NotFoundError):
            await batch_devices.by_id(ids[0]).delete()
        with pytest.raises(ConflictError):
            await customer.device_batches.create(batch_id="B", devices=devices(99))
        with pytest.raises(NotFoundError) as unknown:
            await (
                partner.customers.by_id(world.other_customer)
                .batch_upload_status.by_id(poller.tracking_id)
                .get()
            )
        assert unknown.value.code == "60003"


async def test_async_timeout_and_continuation(
    app: FastAPI, world: World, fake_time: FakeTime
) -> None:
    worker, fake_time.worker = fake_time.worker, None
    async with async_partner(app, world, fake_time) as partner:
        poller = await partner.customers.by_id(world.customer).device_batches.create(
            batch_id="later", devices=devices(7)
        )
        with pytest.raises(PollingTimeoutError) as caught:
            await poller.result(timeout=1.5)
        assert caught.value.last_status is not None
        assert caught.value.last_status.status is DeviceUploadStatusType.QUEUED
        assert fake_time.sleeps == [1.0, 0.5]

        fake_time.worker = worker
        resumed = partner.poller_from_continuation_token(caught.value.continuation_token)
        details = await resumed.result(timeout=60)
    assert details.batch_tracking_id == poller.tracking_id
    assert details.status is DeviceUploadStatusType.FINISHED
