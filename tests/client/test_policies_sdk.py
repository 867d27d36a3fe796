"""Configuration policies (E8-E12) and device policy updates (E6) through the SDK, sync and
async, against the real app in-process (fake time: each poll wait runs the worker) and once
over a socket."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.fake_time import FakeTime
from tests.support.live_server import live_server
from tests.support.sdk import devices
from tests.support.world import World
from ztd.client import BatchUploadPoller, NotFoundError, PartnerClient, aio
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.wire import (
    ConfigurationPolicy,
    Device,
    DevicePolicyUpdateRequest,
    DeviceUploadStatusType,
    KeyValuePair,
    PolicyCategory,
    PolicySettingsType,
)

UNKNOWN_POLICY = "5c6e1a41-0000-4000-8000-000000000000"
OOBE_USER = PolicySettingsType.OOBE_USER_NOT_LOCAL_ADMIN
EXPRESS = PolicySettingsType.SKIP_EXPRESS_SETTINGS


@pytest.fixture
def other_partner(client: TestClient, world: World, fake_time: FakeTime) -> Iterator[PartnerClient]:
    """The sync SDK as the partner of ``world.other_customer``."""
    with PartnerClient(
        "http://testserver",
        token=world.other_token,
        http_client=client,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as sdk:
        yield sdk


def _batch_devices(partner: PartnerClient, customer: str, batch: str, *seeds: int) -> list[str]:
    ops = partner.customers.by_id(customer).device_batches
    ops.create(batch_id=batch, devices=devices(*seeds)).result(timeout=60)
    return [d.id for d in ops.by_id(batch).devices.list() if d.id]


# -- sync ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Issue 6 asks for policies on both databases, through the SDK too."""
    return str(request.param)


def test_dotnet_sample_flow(partner: PartnerClient, world: World, fake_time: FakeTime) -> None:
    customer = partner.customers.by_id(world.customer)
    # CreateConfigurationPolicy.cs: a name, a description, two settings and no category.
    policy = customer.configuration_policies.create(
        name="Windows 10 Enterprise E5",
        description="test policy creation from API",
        policy_settings=[OOBE_USER, "skip_express_settings"],
    )
    assert isinstance(policy, ConfigurationPolicy) and policy.id
    assert policy.category is PolicyCategory.OOBE
    assert policy.policy_settings == [OOBE_USER, EXPRESS]
    assert policy.devices_assigned_count == 0
    assert policy.created_date is not None

    ids = _batch_devices(partner, world.customer, "pol", 1, 2)
    fake_time.sleeps.clear()
    # UpdateDevice.cs: every device of the batch with the policy as its o_o_b_e policy.
    poller = customer.device_policy.update(devices=[(i, policy.id) for i in ids])
    assert isinstance(poller, BatchUploadPoller)
    assert poller.location == f"/customers/{world.customer}/batchJobStatus/{poller.tracking_id}"
    assert poller.status() is DeviceUploadStatusType.QUEUED
    details = poller.result(timeout=60)
    assert fake_time.sleeps == [1.0]  # one Retry-After wait, during which the worker ran
    assert details.status is DeviceUploadStatusType.FINISHED
    assert [d.device_id for d in details.devices_status] == ids
    assert all(d.error_code is None for d in details.devices_status)

    listed = customer.device_batches.by_id("pol").devices.get().items
    assert [d.policies for d in listed] == [
        [KeyValuePair(key=PolicyCategory.OOBE, value=policy.id)]
    ] * 2
    assert customer.configuration_policies.by_id(policy.id).get().devices_assigned_count == 2
    every = customer.configuration_policies.get()
    assert every.total_count == 1
    assert [(p.id, p.devices_assigned_count) for p in every.items] == [(policy.id, 2)]
    assert [p.id for p in customer.configuration_policies.list()] == [policy.id]

    # (device, None) removes the assignment.
    customer.device_policy.update(devices=[(ids[0], None)]).result(timeout=60)
    assert customer.configuration_policies[policy.id].get().devices_assigned_count == 1


def test_mixed_job_reports_success_807_810_and_809(
    partner: PartnerClient, other_partner: PartnerClient, world: World
) -> None:
    mine = partner.customers.by_id(world.customer).configuration_policies.create(name="Mine")
    theirs = other_partner.customers.by_id(world.other_customer).configuration_policies.create(
        name="Their secret policy"
    )
    assert mine.id and theirs.id
    my_ids = _batch_devices(partner, world.customer, "m", 1, 2)
    [their_device] = _batch_devices(other_partner, world.other_customer, "t", 3)

    poller = partner.customers.by_id(world.customer).device_policy.update(
        devices=[
            (my_ids[0], mine.id),
            (their_device, mine.id),
            (my_ids[1], theirs.id),
            (my_ids[1], UNKNOWN_POLICY),
        ]
    )
    details = poller.result(timeout=60)
    # Finished (every device processed); the SDK tells the failures from the entries.
    assert details.status is DeviceUploadStatusType.FINISHED
    assert not details.succeeded and len(details.failed_devices) == 3
    outcomes = [(d.status, d.error_code, d.error_description) for d in details.devices_status]
    assert outcomes == [
        (DeviceUploadStatusType.FINISHED, None, None),
        (DeviceUploadStatusType.FINISHED_WITH_ERRORS, "807", "ZtdDeviceIsNotRegistered"),
        (DeviceUploadStatusType.FINISHED_WITH_ERRORS, "810", "ZtdProfileAssignedToOtherTenant"),
        (DeviceUploadStatusType.FINISHED_WITH_ERRORS, "809", "ZtdProfileIsNotRegistered"),
    ]
    text = details.model_dump_json()
    assert "Their secret policy" not in text and world.other_customer not in text
    other = other_partner.customers.by_id(world.other_customer)
    [after] = other.device_batches.by_id("t").devices.get().items
    assert after.policies == [KeyValuePair(key=PolicyCategory.OOBE)]  # no value: no policy
    assert other.configuration_policies.by_id(theirs.id).get().devices_assigned_count == 0
    assert (
        partner.customers.by_id(world.customer)
        .configuration_policies.by_id(mine.id)
        .get()
        .devices_assigned_count
        == 1
    )


def test_patch_replaces_and_delete_unassigns(partner: PartnerClient, world: World) -> None:
    policies = partner.customers.by_id(world.customer).configuration_policies
    # A PascalCase mapping, as the .NET sample's JSON would be written.
    created = policies.create(
        {"Name": "Kiosk", "Description": "first", "PolicySettings": ["skip_eula"]}
    )
    assert created.id
    policy = policies.by_id(created.id)

    fetched = policy.get()
    fetched.name = "Kiosk v2"
    fetched.policy_settings = [OOBE_USER, PolicySettingsType.SKIP_OEM_REGISTRATION]
    updated = policy.patch(fetched)  # GET, change, PUT: as Set-PartnerCustomerConfigurationPolicy
    assert (updated.id, updated.category) == (created.id, PolicyCategory.OOBE)
    assert (updated.name, updated.description) == ("Kiosk v2", "first")
    assert updated.policy_settings == [OOBE_USER, PolicySettingsType.SKIP_OEM_REGISTRATION]
    assert policy.get() == updated

    replaced = policy.patch({"name": "Bare"})  # PUT replaces: description and settings go
    assert (replaced.name, replaced.description, replaced.policy_settings) == ("Bare", None, [])

    [device_id] = _batch_devices(partner, world.customer, "d", 7)
    customer = partner.customers.by_id(world.customer)
    customer.device_policy.update(devices=[(device_id, created.id)]).result(timeout=60)
    policy.delete()
    with pytest.raises(NotFoundError) as caught:
        policy.get()
    assert (caught.value.status, caught.value.code) == (404, "1000")
    with pytest.raises(NotFoundError):
        policy.delete()
    assert policies.get().items == []
    [device] = customer.device_batches.by_id("d").devices.get().items
    assert device.policies == [KeyValuePair(key=PolicyCategory.OOBE)]


def test_request_id_makes_create_and_update_idempotent(
    partner: PartnerClient, world: World
) -> None:
    customer = partner.customers.by_id(world.customer)
    rid = str(uuid.uuid4())
    first = customer.configuration_policies.create(name="Once", request_id=rid)
    again = customer.configuration_policies.create(name="Once", request_id=rid)
    assert first == again
    assert len(customer.configuration_policies.get().items) == 1

    [device_id] = _batch_devices(partner, world.customer, "i", 8)
    assert first.id
    request = DevicePolicyUpdateRequest(
        devices=[
            Device(id=device_id, policies=[KeyValuePair(key=PolicyCategory.OOBE, value=first.id)])
        ]
    )
    rid = str(uuid.uuid4())
    one = customer.device_policy.update(request, request_id=rid)
    two = customer.device_policy.update(request, request_id=rid)
    assert one.tracking_id == two.tracking_id


def test_arguments_are_checked_before_any_request(partner: PartnerClient) -> None:
    customer = partner.customers.by_id("c")
    policies = customer.configuration_policies
    with pytest.raises(ValueError, match="unknown policy setting 'skip_bogus'"):
        policies.create(name="x", policy_settings=["skip_bogus"])
    with pytest.raises(ValueError, match="unknown policy setting"):
        policies.create({"name": "x", "policySettings": ["skip_eula", "nope"]})
    with pytest.raises(ValueError, match="unknown policy category"):
        policies.create(name="x", category="kiosk")
    with pytest.raises(ValueError, match="non-empty name"):
        policies.create(name=" ")
    with pytest.raises(TypeError):
        policies.create(ConfigurationPolicy(name="x"), name="y")
    with pytest.raises(TypeError):
        policies.create()
    with pytest.raises(ValueError, match="policy_id"):
        policies.by_id("")
    with pytest.raises(ValueError, match="devices is empty"):
        customer.device_policy.update(devices=[])
    with pytest.raises(ValueError, match="device_id"):
        customer.device_policy.update(devices=[("", "p")])
    with pytest.raises(ValueError, match="policy_id"):
        customer.device_policy.update(devices=[("d", " ")])
    with pytest.raises(ValueError, match="needs an id and policies"):
        customer.device_policy.update(devices=[Device(id="d")])
    with pytest.raises(TypeError):
        customer.device_policy.update()


# -- async -----------------------------------------------------------------------------------


class Recorder(httpx.AsyncBaseTransport):
    """The real app behind httpx's ASGI transport, keeping what the SDK sent."""

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.sent: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content) if request.content else None
        self.sent.append((request.method, request.url.path, body))
        return await self.inner.handle_async_request(request)


def async_partner(
    transport: httpx.AsyncBaseTransport, token: str, fake_time: FakeTime
) -> aio.PartnerClient:
    return aio.PartnerClient(
        "http://ztd.test",
        token=token,
        transport=transport,
        sleep=fake_time.async_sleep,
        clock=fake_time.clock,
    )


@pytest.mark.anyio
async def test_async_sample_flow_mixed_job_and_wire_shape(
    app: FastAPI, world: World, fake_time: FakeTime
) -> None:
    recorder = Recorder(app)
    async with (
        async_partner(recorder, world.token, fake_time) as partner,
        async_partner(httpx.ASGITransport(app=app), world.other_token, fake_time) as other,
    ):
        customer = partner.customers.by_id(world.customer)
        policy = await customer.configuration_policies.create(
            name="Async", policy_settings=["oobe_user_not_local_admin"]
        )
        assert policy.id and policy.category is PolicyCategory.OOBE
        theirs = await other.customers.by_id(world.other_customer).configuration_policies.create(
            name="Theirs"
        )
        assert theirs.id
        batches = customer.device_batches
        await (await batches.create(batch_id="a", devices=devices(1, 2))).result(timeout=60)
        ids = [d.id async for d in batches.by_id("a").devices.list() if d.id]
        their_batches = other.customers.by_id(world.other_customer).device_batches
        await (await their_batches.create(batch_id="t", devices=devices(3))).result(timeout=60)
        [their_device] = [d.id for d in (await their_batches.by_id("t").devices.get()).items]
        assert their_device

        poller = await customer.device_policy.update(
            devices=[(ids[0], policy.id), (their_device, policy.id), (ids[1], theirs.id)]
        )
        assert isinstance(poller, aio.AsyncBatchUploadPoller)
        details = await poller.result(timeout=60)
        assert [d.error_code for d in details.devices_status] == [None, "807", "810"]

        assert (
            await customer.configuration_policies.by_id(policy.id).get()
        ).devices_assigned_count == 1
        [listed] = (await customer.configuration_policies.get()).items
        assert listed.devices_assigned_count == 1
        assert [p.id async for p in customer.configuration_policies.list()] == [policy.id]
        patched = await customer.configuration_policies.by_id(policy.id).patch(
            policy.model_copy(update={"name": "Async v2"})
        )
        assert (patched.id, patched.name) == (policy.id, "Async v2")
        await customer.configuration_policies.by_id(policy.id).delete()
        with pytest.raises(NotFoundError):
            await customer.configuration_policies.by_id(policy.id).get()
        unassigned = [KeyValuePair(key=PolicyCategory.OOBE)]
        assert [d.policies async for d in batches.by_id("a").devices.list()] == [unassigned] * 2

    # What went over the wire: the .NET shapes and verbs (Patch is a PUT).
    calls = {(method, path.split("/")[-1]) for method, path, _ in recorder.sent}
    assert ("PUT", policy.id) in calls and ("DELETE", policy.id) in calls
    [create_body] = [b for m, p, b in recorder.sent if m == "POST" and p.endswith("/policies")]
    assert create_body["name"] == "Async" and create_body["category"] == "none"
    assert create_body["policySettings"] == ["oobe_user_not_local_admin"]
    [(path, update_body)] = [(p, b) for m, p, b in recorder.sent if m == "PATCH"]
    assert path == f"/v1/customers/{world.customer}/DevicePolicyUpdates"
    assert update_body["attributes"] == {"objectType": "DevicePolicyUpdateRequest"}
    assert update_body["devices"][0] == {
        "id": ids[0],
        "policies": [{"key": "o_o_b_e", "value": policy.id}],
        "attributes": {"objectType": "Device"},
    }


# -- over a socket ---------------------------------------------------------------------------


def test_policies_over_http(settings: Settings, db: Database, world: World) -> None:
    with (
        live_server(create_app(settings, db=db, embedded_worker=False)) as url,
        PartnerClient(url, token=world.token) as partner,
    ):
        policies = partner.customers.by_id(world.customer).configuration_policies
        created = policies.create(name="Live", policy_settings=[PolicySettingsType.SKIP_EULA])
        assert created.id
        assert (
            policies.by_id(created.id).patch(created.model_copy(update={"name": "L"})).name == "L"
        )
        poller = partner.customers.by_id(world.customer).device_policy.update(
            devices=[("not-a-device", created.id)]
        )
        assert poller.status() is DeviceUploadStatusType.QUEUED  # no worker: it stays queued
        policies.by_id(created.id).delete()
        assert policies.get().total_count == 0


def test_device_patch_sets_its_policy_as_dotnet_does(partner: PartnerClient, world: World) -> None:
    """IDevice.Patch: the device read back, its policies changed, PUT whole."""
    customer = partner.customers.by_id(world.customer)
    policy = customer.configuration_policies.create(name="p", policy_settings=["SkipEula"])
    [device_id] = _batch_devices(partner, world.customer, "patch", 41)
    device_ops = customer.device_batches.by_id("patch").devices.by_id(device_id)
    device = device_ops.get()
    assert device.hardware_hash and device.policies == [KeyValuePair(key=PolicyCategory.OOBE)]
    assert device.allowed_operations == ["GET", "PATCH", "DELETE"]
    assert device.uploaded_by == "Fabrikam Partner"
    assert device.links is not None and device.links.self_ is not None
    assert device.links.self_.uri.endswith(f"/deviceBatches/patch/devices/{device_id}")
    batch_devices = customer.device_batches.by_id("patch").devices
    assert batch_devices.get().items[0].hardware_hash is None  # ~4 KB each: left out
    [with_hash] = batch_devices.get(include_hardware_hash=True).items
    assert with_hash.hardware_hash == device.hardware_hash
    [batch] = customer.device_batches.get().items
    assert batch.status is DeviceUploadStatusType.FINISHED and batch.links is not None
    device.policies = [KeyValuePair(key=PolicyCategory.OOBE, value=policy.id)]
    patched = device_ops.patch(device)
    assert patched.id == device_id and patched.policies == device.policies
    assert customer.configuration_policies.by_id(policy.id).get().devices_assigned_count == 1
    cleared = device_ops.patch({"policies": [{"key": "OOBE"}]})
    assert cleared.policies == [KeyValuePair(key=PolicyCategory.OOBE)]
    other = world.other_customer
    with pytest.raises(NotFoundError):
        partner.customers.by_id(other).device_batches.by_id("patch").devices.by_id(device_id).patch(
            device
        )
