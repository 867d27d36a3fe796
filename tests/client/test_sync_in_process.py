"""The sync SDK against the real app in-process."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.fake_time import FakeTime
from tests.support.sdk import PAGE_SIZE, devices
from tests.support.world import World
from ztd.client import (
    ConflictError,
    NotFoundError,
    PartnerClient,
    PollingTimeoutError,
)
from ztd.identity import synthesize_device
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs
from ztd.wire import BatchUploadDetails, Device, DeviceBatch, DeviceUploadStatusType


def test_seed_csharp_sample_translated_literally(partner: PartnerClient, world: World) -> None:
    # var location = partner.Customers.ById(cid).DeviceBatches.Create(request);
    # var status = partner.Customers.ById(cid).BatchUploadStatus.ById(tid).Get();
    poller = partner.customers.by_id(world.customer).device_batches.create(
        batch_id="SDKTestDeviceBatch", devices=devices(1, 2, 3)
    )
    assert poller.location == f"/customers/{world.customer}/batchJobStatus/{poller.tracking_id}"
    poller.result(timeout=60)

    status = (
        partner.customers.by_id(world.customer).batch_upload_status.by_id(poller.tracking_id).get()
    )

    assert isinstance(status, BatchUploadDetails)
    assert status.batch_tracking_id == poller.tracking_id
    assert status.status is DeviceUploadStatusType.FINISHED
    assert [d.status for d in status.devices_status] == [DeviceUploadStatusType.FINISHED] * 3
    assert all(d.device_id for d in status.devices_status)


def test_devices_may_be_wire_models_or_snake_case_dicts(
    partner: PartnerClient, world: World
) -> None:
    model = synthesize_device(10)
    mixed: list[Device | dict[str, Any]] = [
        Device(serial_number=model.serial, hardware_hash=model.hardware_hash),
        *devices(11),
        {"HardwareHash": synthesize_device(12).hardware_hash},  # PascalCase works too
    ]
    details = (
        partner.customers.by_id(world.customer)
        .device_batches.create(batch_id="mixed", devices=mixed)
        .result(timeout=60)
    )
    assert len(details.devices_status) == 3
    assert details.status is DeviceUploadStatusType.FINISHED


def test_poller_honours_retry_after_and_reports_progress(
    partner: PartnerClient, world: World, fake_time: FakeTime
) -> None:
    poller = partner.customers.by_id(world.customer).device_batches.create(
        batch_id="progress", devices=devices(*range(120))
    )
    assert poller.status() is DeviceUploadStatusType.QUEUED
    assert not poller.done()
    seen: list[DeviceUploadStatusType] = []
    details = poller.result(timeout=60, on_update=lambda d: seen.append(d.status))
    # The server sends Retry-After: 1 while unfinished; the poller waits exactly that.
    assert fake_time.sleeps == [1.0]
    assert seen == [DeviceUploadStatusType.QUEUED, DeviceUploadStatusType.FINISHED]
    assert len(details.devices_status) == 120
    assert poller.done() and poller.status() is DeviceUploadStatusType.FINISHED


def test_poller_timeout_raises_with_the_last_status(
    partner: PartnerClient, world: World, fake_time: FakeTime
) -> None:
    fake_time.worker = None  # nothing gets processed
    poller = partner.customers.by_id(world.customer).device_batches.create(
        batch_id="stuck", devices=devices(1, 2)
    )
    with pytest.raises(PollingTimeoutError) as caught:
        poller.wait(timeout=2.5)
    error = caught.value
    assert error.tracking_id == poller.tracking_id
    assert error.last_status is not None
    assert error.last_status.status is DeviceUploadStatusType.QUEUED
    assert "0 of 2 devices done" in str(error)
    # Waits of Retry-After (1 s), clipped so that the deadline is never overshot.
    assert fake_time.sleeps == [1.0, 1.0, 0.5]
    assert error.continuation_token == poller.continuation_token()


def test_continuation_token_resumes_in_a_new_client(
    partner: PartnerClient, world: World, client: object, fake_time: FakeTime
) -> None:
    token = (
        partner.customers.by_id(world.customer)
        .device_batches.create(batch_id="resume", devices=devices(5))
        .continuation_token()
    )
    with PartnerClient(
        "http://testserver",
        token=world.token,
        http_client=client,  # type: ignore[arg-type]
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as other:
        resumed = other.poller_from_continuation_token(token)
        assert resumed.customer_id == world.customer
        details = resumed.result(timeout=60)
    assert details.batch_tracking_id == resumed.tracking_id
    assert details.status is DeviceUploadStatusType.FINISHED


def test_batches_devices_paging_and_delete(
    partner: PartnerClient, world: World, fake_time: FakeTime
) -> None:
    customer = partner.customers.by_id(world.customer)
    count = PAGE_SIZE * 3 + 2
    customer.device_batches.create(batch_id="Test batch", devices=devices(*range(count))).result(
        timeout=60
    )
    more = customer.device_batches.by_id("Test batch").devices.create(devices(100, 101))
    more.result(timeout=60)

    [batch] = customer.device_batches.get().items
    assert isinstance(batch, DeviceBatch)
    assert (batch.id, batch.devices_count) == ("Test batch", count + 2)

    batch_devices = customer.device_batches.by_id("Test batch").devices
    pages = list(batch_devices.pages())
    full, rest = divmod(count + 2, PAGE_SIZE)
    assert [len(p.items) for p in pages] == [PAGE_SIZE] * full + [rest]
    every = batch_devices.get()
    assert every.total_count == count + 2
    ids = [d.id for d in every.items]
    assert len(set(ids)) == count + 2 and all(isinstance(d, Device) for d in every.items)
    assert [d.id for d in batch_devices.list()] == ids

    assert ids[0] is not None
    batch_devices.by_id(ids[0]).delete()
    assert ids[0] not in {d.id for d in batch_devices.list()}
    with pytest.raises(NotFoundError) as caught:
        batch_devices.by_id(ids[0]).delete()
    assert (caught.value.status, caught.value.code) == (404, "1000")


def test_service_errors_are_typed_and_not_retried(
    partner: PartnerClient, world: World, fake_time: FakeTime, db: Database
) -> None:
    customer = partner.customers.by_id(world.customer)
    customer.device_batches.create(batch_id="dup", devices=devices(1))
    with pytest.raises(ConflictError) as conflict:
        customer.device_batches.create(batch_id="DUP", devices=devices(2))
    assert conflict.value.status == 409
    assert conflict.value.request_id and conflict.value.correlation_id
    with pytest.raises(NotFoundError) as unknown:
        partner.customers.by_id(world.other_customer).device_batches.get()
    assert unknown.value.code == "60003"
    assert "60003" in str(unknown.value)
    assert fake_time.sleeps == []  # none of these was retried
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 1


def test_client_side_ids_are_validated_before_any_request(partner: PartnerClient) -> None:
    with pytest.raises(ValueError, match="customer_id"):
        partner.customers.by_id(" ")
    with pytest.raises(ValueError, match="batch_id"):
        partner.customers.by_id("c").device_batches.by_id("")
    with pytest.raises(ValueError, match="devices is empty"):
        partner.customers.by_id("c").device_batches.create(batch_id="b", devices=[])
    with pytest.raises(TypeError):
        PartnerClient("http://x")
    with pytest.raises(TypeError):
        PartnerClient("http://x", token="t", credential=object())  # type: ignore[arg-type]
