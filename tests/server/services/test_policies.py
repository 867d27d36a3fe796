"""Configuration policies (E8-E12) and device policy updates (E6), as the .NET samples use them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import assert_error, create_batch, hash_device, status_of
from tests.support.world import World
from ztd.server.jobs.worker import Worker


def _create_policy(client: TestClient, customer: str, headers: dict[str, str], **body: Any) -> Any:
    payload = {
        "Name": "Windows 10 Enterprise E5",
        "Description": "test policy creation from API",
        "PolicySettings": ["oobe_user_not_local_admin", "skip_express_settings"],
        "Category": "none",  # what the .NET sample sends when nobody set it
        "Attributes": {"ObjectType": "ConfigurationPolicy"},
        **body,
    }
    response = client.post(f"/v1/customers/{customer}/policies", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _devices_of(client: TestClient, customer: str, batch: str, headers: dict[str, str]) -> Any:
    url = f"/v1/customers/{customer}/deviceBatches/{batch}/devices"
    return client.get(url, headers=headers).json()["items"]


def _assign(
    client: TestClient, customer: str, headers: dict[str, str], pairs: list[tuple[str, Any]]
) -> str:
    body = {
        "Devices": [
            {
                "Id": device_id,
                "Policies": [{"Key": "o_o_b_e", "Value": policy_id}],
                "Attributes": {"ObjectType": "Device"},
            }
            for device_id, policy_id in pairs
        ],
        "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"},
    }
    response = client.patch(
        f"/v1/customers/{customer}/devicePolicyUpdates", json=body, headers=headers
    )
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert response.headers["Location"].startswith(f"/customers/{customer}/batchJobStatus/")
    return response.headers["Location"].split("/")[4]


def test_dotnet_sample_flow(client: TestClient, world: World, worker: Worker) -> None:
    policy = _create_policy(client, world.customer, world.auth())
    assert policy["category"] == "o_o_b_e"
    assert policy["devicesAssignedCount"] == 0
    assert policy["policySettings"] == ["oobe_user_not_local_admin", "skip_express_settings"]
    assert policy["attributes"] == {"objectType": "ConfigurationPolicy"}
    assert {"id", "createdDate", "lastModifiedDate"} <= set(policy)

    create_batch(client, world.customer, world.auth(), "pol", [hash_device(1), hash_device(2)])
    worker.run_until_idle()
    devices = _devices_of(client, world.customer, "pol", world.auth())
    tracking = _assign(
        client, world.customer, world.auth(), [(d["id"], policy["id"]) for d in devices]
    )
    assert status_of(client, world.customer, tracking, world.auth())["status"] == "queued"
    worker.run_until_idle()
    result = status_of(client, world.customer, tracking, world.auth())
    assert result["status"] == "finished"
    assert [d["deviceId"] for d in result["devicesStatus"]] == [d["id"] for d in devices]
    for device in _devices_of(client, world.customer, "pol", world.auth()):
        assert device["policies"] == [{"key": "o_o_b_e", "value": policy["id"]}]
    fetched = client.get(
        f"/v1/customers/{world.customer}/policies/{policy['id']}", headers=world.auth()
    ).json()
    assert fetched["devicesAssignedCount"] == 2
    listing = client.get(f"/v1/customers/{world.customer}/policies", headers=world.auth()).json()
    assert [p["devicesAssignedCount"] for p in listing["items"]] == [2]


def test_mixed_update_reports_success_807_and_810_without_leaking(
    client: TestClient, world: World, worker: Worker
) -> None:
    mine = _create_policy(client, world.customer, world.auth())
    theirs = _create_policy(client, world.other_customer, world.auth(world.other_token), Name="X")
    create_batch(client, world.customer, world.auth(), "m", [hash_device(1), hash_device(2)])
    create_batch(client, world.other_customer, world.auth(world.other_token), "t", [hash_device(3)])
    worker.run_until_idle()
    my_devices = _devices_of(client, world.customer, "m", world.auth())
    [their_device] = _devices_of(client, world.other_customer, "t", world.auth(world.other_token))
    tracking = _assign(
        client,
        world.customer,
        world.auth(),
        [
            (my_devices[0]["id"], mine["id"]),
            (their_device["id"], mine["id"]),
            (my_devices[1]["id"], theirs["id"]),
            (my_devices[1]["id"], "5c6e1a41-0000-4000-8000-000000000000"),
        ],
    )
    worker.run_until_idle()
    response = client.get(
        f"/v1/customers/{world.customer}/batchJobStatus/{tracking}", headers=world.auth()
    )
    result = response.json()
    assert result["status"] == "finished"
    outcomes = [(d.get("errorCode"), d.get("errorDescription")) for d in result["devicesStatus"]]
    assert outcomes == [
        (None, None),
        ("807", "ZtdDeviceIsNotRegistered"),
        ("810", "ZtdProfileAssignedToOtherTenant"),
        ("809", "ZtdProfileIsNotRegistered"),
    ]
    for secret in (their_device["serialNumber"], theirs["name"], world.other_customer):
        assert secret not in response.text
    # Nothing changed on the other customer's side.
    [after] = _devices_of(client, world.other_customer, "t", world.auth(world.other_token))
    assert after["policies"] == [{"key": "o_o_b_e"}]


def test_put_replaces_name_description_settings_and_keeps_id_and_category(
    client: TestClient, world: World
) -> None:
    policy = _create_policy(client, world.customer, world.auth())
    url = f"/v1/customers/{world.customer}/policies/{policy['id']}"
    response = client.put(
        url,
        json={
            "id": "ignored",
            "name": "Renamed",
            "category": "none",
            "policySettings": ["skip_eula"],
            "devicesAssigned": 99,
        },
        headers=world.auth(),
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["id"] == policy["id"]
    assert updated["category"] == "o_o_b_e"
    assert updated["name"] == "Renamed"
    assert "description" not in updated
    assert updated["policySettings"] == ["skip_eula"]
    assert updated["devicesAssignedCount"] == 0
    assert client.get(url, headers=world.auth()).json() == updated


def test_deleting_a_policy_unassigns_its_devices(
    client: TestClient, world: World, worker: Worker
) -> None:
    policy = _create_policy(client, world.customer, world.auth())
    create_batch(client, world.customer, world.auth(), "d", [hash_device(1)])
    worker.run_until_idle()
    [device] = _devices_of(client, world.customer, "d", world.auth())
    _assign(client, world.customer, world.auth(), [(device["id"], policy["id"])])
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/policies/{policy['id']}"
    response = client.delete(url, headers=world.auth())
    assert response.status_code == 204 and response.content == b""
    assert_error(client.get(url, headers=world.auth()), 404, "1000")
    [device] = _devices_of(client, world.customer, "d", world.auth())
    assert device["policies"] == [{"key": "o_o_b_e"}]  # the OOBE entry, without a value


def test_policy_validation_errors_name_the_field(client: TestClient, world: World) -> None:
    url = f"/v1/customers/{world.customer}/policies"
    body = assert_error(
        client.post(url, json={"policySettings": []}, headers=world.auth()), 400, "800002"
    )
    assert "name" in body["description"]
    body = assert_error(
        client.post(
            url, json={"name": "x", "policySettings": ["skip_bogus"]}, headers=world.auth()
        ),
        400,
        "800002",
    )
    assert "policySettings[0]" in body["description"]


def test_other_customers_policy_is_404(client: TestClient, world: World) -> None:
    theirs = _create_policy(client, world.other_customer, world.auth(world.other_token))
    response = client.get(
        f"/v1/customers/{world.customer}/policies/{theirs['id']}", headers=world.auth()
    )
    assert_error(response, 404, "1000")
    assert theirs["name"] not in response.text


def test_snake_case_properties_and_empty_description(client: TestClient, world: World) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/policies",
        json={"name": "snake", "description": "", "policy_settings": ["skip_eula"]},
        headers=world.auth(),
    )
    assert response.status_code == 200, response.text
    policy = response.json()
    assert "description" not in policy
    assert policy["policySettings"] == ["skip_eula"]


def test_over_long_device_id_in_policy_update_is_400(client: TestClient, world: World) -> None:
    response = client.patch(
        f"/v1/customers/{world.customer}/DevicePolicyUpdates",
        json={"devices": [{"id": "d" * 300, "policies": [{"key": "o_o_b_e", "value": "p"}]}]},
        headers=world.auth(),
    )
    assert "devices[0].id: 300 characters" in assert_error(response, 400, "800002")["description"]
