"""A device refused at enqueue (802, 803, a duplicate, a policy update's 801) carries the
validator's reason in its status entry's ``errorDetail``; ``errorDescription`` stays the DDS
name, as Partner Center sends it. The SDK reads the reason, and the CLI's summary shows it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from rich.console import Console

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.cli.failures import failures_of, print_failures
from ztd.identity.device import analyze_device
from ztd.server.jobs.worker import Worker
from ztd.wire import BatchUploadDetails


def _reason(**device: str | None) -> str:
    """What the validator itself says about ``device`` (the one home of the reasons)."""
    fields = ("serial_number", "product_key", "hardware_hash", "manufacturer", "model")
    identity = analyze_device(**{f: device.get(f) for f in fields})  # type: ignore[arg-type]
    assert identity.error is not None and identity.detail
    return identity.detail


# Hashes broken in different ways: each has its own reason.
BROKEN_HASHES = {
    "abc": "base64 length 3 is not a multiple of 4",
    "ab!d": "character '!' at position 3 is not valid base64",
    "AAAA": "the hash decodes to 3 bytes",
    "DummyHash123": "the hash decodes to 9 bytes",
}


def test_each_broken_hash_gets_its_own_reason(
    client: TestClient, world: World, worker: Worker
) -> None:
    sent = [{"SerialNumber": f"S{n}", "HardwareHash": h} for n, h in enumerate(BROKEN_HASHES)]
    tracking = create_batch(client, world.customer, world.auth(), "broken", sent)
    worker.run_until_idle()
    entries = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    for entry, (hash_text, expected) in zip(entries, BROKEN_HASHES.items(), strict=True):
        assert (entry["errorCode"], entry["errorDescription"]) == ("802", "InvalidZtdHardwareHash")
        assert expected in entry["errorDetail"]
        assert entry["errorDetail"] == _reason(serial_number="S", hardware_hash=hash_text)


def test_803_and_duplicates_say_what_is_missing_and_which_device_came_first(
    client: TestClient, world: World, worker: Worker
) -> None:
    sent = [
        hash_device(30),
        {"SerialNumber": "ONLY-A-SERIAL", "OemManufacturerName": "Contoso"},
        {"ProductKey": "not-a-pkid"},
        hash_device(30),  # the first device's machine again (another read of its hash)
        {"ProductKey": "3384231463702"},
        {"ProductKey": "3384231463702"},
    ]
    tracking = create_batch(client, world.customer, world.auth(), "mixed", sent)
    worker.run_until_idle()
    entries = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    details = [e.get("errorDetail") for e in entries]
    assert details[0] is None and details[4] is None  # registered: no detail
    assert entries[1]["errorCode"] == "803"
    assert "missing: model" in details[1]
    assert details[1] == _reason(serial_number="ONLY-A-SERIAL", manufacturer="Contoso")
    assert details[2] == _reason(product_key="not-a-pkid")
    assert entries[3]["errorDescription"] == "ZtdDeviceDuplicated"
    assert details[3].startswith("the same device as devices[0] of this upload")
    assert "manufacturer and serial number" in details[3]
    assert details[5].startswith("the same device as devices[4] of this upload")
    assert "product key id" in details[5]
    # A failure found while registering (806 here) has no precheck reason to give.
    again = create_batch(client, world.customer, world.auth(), "again", [hash_device(30)])
    worker.run_until_idle()
    [entry] = status_of(client, world.customer, again, world.auth())["devicesStatus"]
    assert entry["errorCode"] == "806" and "errorDetail" not in entry


def test_a_policy_update_refused_at_enqueue_says_what_is_missing(
    client: TestClient, world: World, worker: Worker
) -> None:
    response = client.patch(
        f"/v1/customers/{world.customer}/DevicePolicyUpdates",
        json={
            "devices": [
                {"policies": [{"key": "o_o_b_e", "value": "p"}]},
                {"id": "some-device", "policies": []},
            ]
        },
        headers=world.auth(),
    )
    assert response.status_code == 202, response.text
    worker.run_until_idle()
    tracking = response.headers["Location"].split("/")[4]
    entries = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    assert [e["errorCode"] for e in entries] == ["801", "801"]
    assert entries[0]["errorDetail"].startswith("devices[0] has no id: send the device's id")
    assert entries[1]["errorDetail"].startswith("devices[1] has no o_o_b_e policy")


def test_the_sdk_reads_the_reason_and_the_cli_summary_shows_it(
    client: TestClient, world: World, worker: Worker
) -> None:
    sent = [{"SerialNumber": "CUT-1", "HardwareHash": "abc"}, hash_device(50)]
    tracking = create_batch(client, world.customer, world.auth(), "sdk", sent)
    worker.run_until_idle()
    details = BatchUploadDetails.model_validate(
        status_of(client, world.customer, tracking, world.auth())
    )
    assert details.devices_status[0].error_detail == _reason(hardware_hash="abc")
    assert details.devices_status[1].error_detail is None
    console = Console(width=300, record=True)
    print_failures(console, failures_of([details]), "--json lists them all")
    text = console.export_text()
    assert "serial CUT-1, base64 length 3 is not a multiple of 4" in text
