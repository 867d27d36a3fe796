"""E3 list batches, E4 list devices with paging, E5 delete a device."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings


def test_list_batches_shape(client: TestClient, world: World, worker: Worker) -> None:
    create_batch(client, world.customer, world.auth(), "Test batch", [hash_device(1)])
    worker.run_until_idle()
    body = client.get(f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth()).json()
    assert body["totalCount"] == 1
    assert body["attributes"] == {"objectType": "Collection"}
    [batch] = body["items"]
    assert batch["id"] == "Test batch"
    assert batch["createdBy"] == "Fabrikam Partner"
    assert batch["devicesCount"] == 1
    assert batch["devicesLink"] == {
        "uri": f"/customers/{world.customer}/deviceBatches/Test%20batch/devices",
        "method": "GET",
        "headers": [],
    }
    assert batch["attributes"] == {"objectType": "DeviceBatch"}


def test_devices_page_by_continuation_token(
    client: TestClient, world: World, worker: Worker, settings: Settings
) -> None:
    settings.page_size = 4
    devices = [hash_device(100 + i) for i in range(10)]
    create_batch(client, world.customer, world.auth(), "paged", devices)
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/deviceBatches/paged/devices"
    seen: list[str] = []
    headers = world.auth()
    pages = 0
    while True:
        body = client.get(url, headers=headers).json()
        pages += 1
        assert body["totalCount"] == 10
        seen += [d["serialNumber"] for d in body["items"]]
        if "continuationToken" not in body:
            assert "links" not in body
            break
        link = body["links"]["next"]
        assert link["headers"] == [
            {"key": "MS-ContinuationToken", "value": body["continuationToken"]}
        ]
        headers = {**world.auth(), "MS-ContinuationToken": body["continuationToken"]}
    assert pages == 3
    assert seen == [d["SerialNumber"] for d in devices]
    first = client.get(url, headers=world.auth()).json()["items"][0]
    assert first["attributes"] == {"objectType": "Device"}
    assert first["policies"] == [{"key": "o_o_b_e"}]
    assert "uploadedDate" in first
    assert "hardwareHash" not in first  # ~4 KB a device: only when asked for
    asked = client.get(url + "?includeHardwareHash=true", headers=world.auth()).json()
    assert asked["items"][0]["hardwareHash"] == devices[0]["HardwareHash"]  # as sent


def test_bad_continuation_token_is_400(client: TestClient, world: World) -> None:
    create_batch(client, world.customer, world.auth(), "b", [hash_device(1)])
    response = client.get(
        f"/v1/customers/{world.customer}/deviceBatches/b/devices",
        headers={**world.auth(), "MS-ContinuationToken": "@@@"},
    )
    assert response.status_code == 400


def test_delete_device_then_register_again(
    client: TestClient, world: World, worker: Worker
) -> None:
    create_batch(client, world.customer, world.auth(), "del", [hash_device(7)])
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/deviceBatches/del/devices"
    [device] = client.get(url, headers=world.auth()).json()["items"]
    # Another partner cannot see or delete it.
    foreign = client.delete(
        f"/v1/customers/{world.other_customer}/deviceBatches/del/devices/{device['id']}",
        headers=world.auth(),
    )
    assert foreign.status_code == 404
    response = client.delete(f"{url}/{device['id']}", headers=world.auth())
    assert response.status_code == 204 and response.content == b""
    assert client.delete(f"{url}/{device['id']}", headers=world.auth()).status_code == 404
    # Freed: the other partner's customer may now register the machine.
    tracking = create_batch(
        client, world.other_customer, world.auth(world.other_token), "x", [hash_device(7)]
    )
    worker.run_until_idle()
    assert (
        status_of(client, world.other_customer, tracking, world.auth(world.other_token))["status"]
        == "finished"
    )
