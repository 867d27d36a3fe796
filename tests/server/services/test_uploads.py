"""E1/E2/E7 end to end through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.identity import synthesize_device
from ztd.identity.product_key import check_product_key
from ztd.server.api.device_input import parse_devices
from ztd.server.jobs.worker import Worker
from ztd.server.services import uploads
from ztd.server.services.uploads import prepare_devices

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

DOTNET_SAMPLE_BODY = {
    "BatchId": "SDKTestDeviceBatch",
    "Devices": [
        {
            "Id": None,
            "SerialNumber": "1R9-ZNP67",
            "ProductKey": "00329-00000-0003-AA606",
            "HardwareHash": "DummyHash123",
            "Policies": None,
            "CreatedBy": None,
            "UploadedDate": "0001-01-01T00:00:00",
            "AllowedOperations": None,
            "Attributes": {"ObjectType": "Device"},
        }
    ],
    "Attributes": {"ObjectType": "DeviceBatchCreationRequest"},
}


def test_dotnet_create_body_is_accepted_with_relative_location(
    client: TestClient, world: World, worker: Worker
) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json=DOTNET_SAMPLE_BODY,
        headers=world.auth(),
    )
    assert response.status_code == 202
    assert response.content == b""
    location = response.headers["Location"]
    assert re.fullmatch(f"/customers/{world.customer}/batchJobStatus/{GUID}", location)
    tracking_id = location.split("/")[4]
    worker.run_until_idle()
    status = status_of(client, world.customer, tracking_id, world.auth())
    assert status["batchTrackingId"] == tracking_id
    assert status["status"] == "finished"
    [device] = status["devicesStatus"]
    # DummyHash123 is not a hardware hash: refused, never accepted unchecked.
    assert device["errorCode"] == "802"
    assert device["errorDescription"] == "InvalidZtdHardwareHash"
    assert device["serialNumber"] == "1R9-ZNP67"
    assert device["productKey"] == "00329-00000-0003-AA606"


def test_seed_request_example_returns_exact_wire_shape(
    client: TestClient, world: World, worker: Worker
) -> None:
    tracking_id = create_batch(
        client, world.customer, world.auth(), "Test batch", [hash_device(1), hash_device(2)]
    )
    worker.run_until_idle()
    response = client.get(
        f"/v1/customers/{world.customer}/batchjobstatus/{tracking_id}",
        headers={
            **world.auth(),
            "Accept": "application/json",
            "MS-RequestId": "c245d5f2-1de3-4ae0-9e42-95e38e3cb8ff",
            "MS-CorrelationId": "e3f26e6a-044f-4371-ad52-0d91ce4200be",
            "X-Locale": "en-US",
        },
    )
    assert response.status_code == 200
    assert response.headers["MS-CorrelationId"] == "e3f26e6a-044f-4371-ad52-0d91ce4200be"
    assert response.headers["MS-RequestId"] == "c245d5f2-1de3-4ae0-9e42-95e38e3cb8ff"
    for header in ("MS-CV", "MS-ServerId", "Date"):
        assert response.headers.get(header)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {
        "batchTrackingId",
        "status",
        "startedTime",
        "completedTime",
        "devicesStatus",
        "attributes",
    }
    assert body["status"] == "finished"
    assert body["attributes"] == {"objectType": "BatchUploadDetails"}
    for device in body["devicesStatus"]:
        assert set(device) == {"deviceId", "serialNumber", "status", "attributes"}
        assert device["status"] == "finished"
        assert re.fullmatch(GUID, device["deviceId"])
        assert device["attributes"] == {"objectType": "DeviceUploadDetails"}
    assert "null" not in response.text


def test_status_moves_from_queued_to_finished(
    client: TestClient, world: World, worker: Worker
) -> None:
    tracking_id = create_batch(client, world.customer, world.auth(), "b1", [hash_device(3)])
    queued = status_of(client, world.customer, tracking_id, world.auth())
    assert queued["status"] == "queued"
    assert queued["devicesStatus"][0]["status"] == "queued"
    assert "startedTime" not in queued and "completedTime" not in queued
    worker.run_until_idle()
    done = status_of(client, world.customer, tracking_id, world.auth())
    assert done["status"] == "finished"
    assert done["startedTime"] <= done["completedTime"]


def test_registration_rules_806_808_803_and_duplicates(
    client: TestClient, world: World, worker: Worker
) -> None:
    first = create_batch(client, world.customer, world.auth(), "first", [hash_device(10)])
    worker.run_until_idle()
    assert status_of(client, world.customer, first, world.auth())["status"] == "finished"

    again = create_batch(
        client,
        world.customer,
        world.auth(),
        "second",
        [
            hash_device(10),  # same customer again -> 806
            {"SerialNumber": "ONLY-A-SERIAL"},  # no identifier combination -> 803
            hash_device(11),
            hash_device(11),  # second copy in one job -> duplicated
        ],
    )
    other = create_batch(client, world.sibling_customer, world.auth(), "sibling", [hash_device(10)])
    worker.run_until_idle()
    result = status_of(client, world.customer, again, world.auth())
    assert result["status"] == "finished"
    codes = [(d.get("errorCode"), d.get("errorDescription")) for d in result["devicesStatus"]]
    assert codes == [
        ("806", "ZtdDeviceAlreadyAssigned"),
        ("803", "MissingZtdSerialNumberAndProductKey"),
        (None, None),
        (None, "ZtdDeviceDuplicated"),
    ]
    assert [d["status"] for d in result["devicesStatus"]] == [
        "finished_with_errors",
        "finished_with_errors",
        "finished",
        "finished_with_errors",
    ]
    other_result = status_of(client, world.sibling_customer, other, world.auth())
    assert other_result["status"] == "finished"
    [device] = other_result["devicesStatus"]
    assert device["errorCode"] == "808"
    assert device["errorDescription"] == "ZtdDeviceAssignedToOtherTenant"


def test_device_of_another_partners_customer_is_808(
    client: TestClient, world: World, worker: Worker
) -> None:
    create_batch(client, world.customer, world.auth(), "mine", [hash_device(20)])
    worker.run_until_idle()
    theirs = create_batch(
        client, world.other_customer, world.auth(world.other_token), "theirs", [hash_device(20)]
    )
    worker.run_until_idle()
    [device] = status_of(client, world.other_customer, theirs, world.auth(world.other_token))[
        "devicesStatus"
    ]
    assert (device["errorCode"], device["errorDescription"]) == (
        "808",
        "ZtdDeviceAssignedToOtherTenant",
    )


def test_add_devices_accepts_bare_array_and_wrapped_body(
    client: TestClient, world: World, worker: Worker
) -> None:
    create_batch(client, world.customer, world.auth(), "Grow", [hash_device(30)])
    bare = client.post(
        f"/v1/customers/{world.customer}/deviceBatches/grow/devices",
        json=[hash_device(31)],
        headers=world.auth(),
    )
    wrapped = client.post(
        f"/v1/customers/{world.customer}/DEVICEBATCHES/Grow/Devices",
        json={"Devices": [hash_device(32)]},
        headers=world.auth(),
    )
    assert bare.status_code == wrapped.status_code == 202
    worker.run_until_idle()
    for response in (bare, wrapped):
        tracking_id = response.headers["Location"].split("/")[4]
        assert status_of(client, world.customer, tracking_id, world.auth())["status"] == "finished"
    listing = client.get(
        f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth()
    ).json()
    assert listing["items"][0]["devicesCount"] == 3


def test_large_job_spans_chunks_and_keeps_order(
    client: TestClient, world: World, worker: Worker
) -> None:
    devices = [hash_device(1000 + i) for i in range(120)]  # chunk_size 50 -> 3 chunks
    devices[75] = hash_device(1000)  # a duplicate of the first, in another chunk
    tracking_id = create_batch(client, world.customer, world.auth(), "big", devices)
    assert worker.run_until_idle() == 3
    result = status_of(client, world.customer, tracking_id, world.auth())
    serials = [d["serialNumber"] for d in result["devicesStatus"]]
    assert serials == [d["SerialNumber"] for d in devices]
    assert result["devicesStatus"][75]["errorDescription"] == "ZtdDeviceDuplicated"
    assert sum("errorDescription" in d for d in result["devicesStatus"]) == 1


def test_duplicates_are_found_across_the_slices_of_the_enqueue() -> None:
    """Uploads are checked a slice at a time (while the slice before is inserted); the
    first copy of a device still wins over a copy in a later slice."""
    wire = [hash_device(2000 + i) for i in range(25)]
    wire[23] = hash_device(2003)  # a copy of item 3, two slices later
    intake = uploads.UploadIntake(
        "c", uploads.ExistingBatch("b"), parse_devices(wire), slice_size=10
    )
    slices = [intake.prepare(entries) for entries in intake.slices()]
    assert [len(s) for s in slices] == [10, 10, 5]
    items = [item for s in slices for item in s]
    assert [i for i, item in enumerate(items) if item.precheck_name] == [23]
    assert items[23].precheck_name == "ZtdDeviceDuplicated" and items[23].device_id is None
    # Its reason names the first copy by its index in the request, not in the slice.
    assert (items[23].precheck_detail or "").startswith("the same device as devices[3] of")
    assert len({item.device_id for item in items if item.device_id}) == 24


def test_a_shared_product_id_does_not_make_hashed_devices_duplicates() -> None:
    wire = [
        {"hardwareHash": synthesize_device(seed).hardware_hash, "productKey": shared}
        for seed in (11, 12, 13)
        for shared in ("00329-00000-0003-AA606",)
    ] + [{"hardwareHash": synthesize_device(14).hardware_hash, "productKey": "N/A"}]
    items = prepare_devices(parse_devices(wire))
    assert [item.precheck_name for item in items] == [None] * 4
    # Each is known by the PKID inside its own hash, not by the column.
    assert len({item.pkid_key for item in items}) == 4


def test_control_characters_and_spaced_licence_keys_are_not_product_keys() -> None:
    machine = synthesize_device(15)
    [first] = prepare_devices(parse_devices([{"hardwareHash": machine.hardware_hash}]))
    assert first.hardware_key and "\x1f" in first.hardware_key
    # A hardware key sent as a product key (control characters) is not kept as one.
    assert check_product_key(first.hardware_key).key is None
    spaced = "VK7JG NPHTM C97JM 9MPGT 3V66T"  # a licence key is a secret, however spaced
    check = check_product_key(spaced)
    assert check.key is None and check.error is not None and check.error.code == "license-key"
    assert spaced not in check.error.message


def test_white_box_pcs_with_a_placeholder_serial_are_told_apart_by_their_uuid() -> None:
    from dataclasses import replace

    from ztd.identity.synthetic import machine_profile, read_machine

    boards = [
        replace(
            machine_profile(seed),
            manufacturer="To Be Filled By O.E.M.",
            serial="Default string",
            pkid=None,
        )
        for seed in (21, 22, 23)
    ]
    hashes = [read_machine(board) for board in boards]
    items = prepare_devices(parse_devices([{"hardwareHash": h} for h in hashes]))
    assert [item.precheck_name for item in items] == [None, None, None]
    assert len({item.hardware_key for item in items}) == 3
    # The same board read again (a later generation of its hash) is the same device.
    again = read_machine(boards[0], generation=1)
    assert again != hashes[0]
    [reread] = prepare_devices(parse_devices([{"hardwareHash": again}]))
    assert reread.hardware_key == items[0].hardware_key
