"""What the real clients send and read (issue: real clients work unchanged): the seed's batch
status, enum names in every spelling, IDevice.Patch, policies sent with uploads, the device
shape, lenient paths and JSON, and status entries that say which device they are about."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.identity import synthesize_device
from ztd.identity.synthetic import synthesize_hash
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType, KeyValuePair, PolicyCategory

# PowerShell 3.x (New-/Set-PartnerCustomerConfigurationPolicy): PascalCase enum names, nulls
# left out, dates with Z, the count it read back.
POWERSHELL_POLICY = {
    "Name": "PS policy",
    "Description": "from New-PartnerCustomerConfigurationPolicy",
    "Category": "None",
    "PolicySettings": ["OobeUserNotLocalAdmin", "SkipExpressSettings"],
    "CreatedDate": "0001-01-01T00:00:00Z",
    "LastModifiedDate": "0001-01-01T00:00:00Z",
    "DevicesAssignedCount": 0,
}


def _policies_url(world: World) -> str:
    return f"/v1/customers/{world.customer}/policies"


def _devices(client: TestClient, customer: str, batch: str, auth: dict[str, str]) -> Any:
    response = client.get(f"/v1/customers/{customer}/deviceBatches/{batch}/devices", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _assign(client: TestClient, world: World, body: dict[str, Any]) -> str:
    response = client.patch(
        f"/v1/customers/{world.customer}/DevicePolicyUpdates", json=body, headers=world.auth()
    )
    assert response.status_code == 202, response.text
    return response.headers["Location"].split("/")[4]


def _seed_808(client: TestClient, world: World, worker: Worker) -> str:
    """The seed's example: a batch whose only device is registered to another tenant."""
    device = hash_device(808)
    create_batch(client, world.other_customer, world.auth(world.other_token), "theirs", [device])
    worker.run_until_idle()
    tracking = create_batch(client, world.customer, world.auth(), "mine", [device])
    worker.run_until_idle()
    return tracking


def test_seed_example_batch_reads_finished_with_the_808_on_the_device(
    client: TestClient, world: World, worker: Worker
) -> None:
    tracking = _seed_808(client, world, worker)
    document = status_of(client, world.customer, tracking, world.auth())
    assert document["status"] == "finished"
    [entry] = document["devicesStatus"]
    assert entry["status"] == "finished_with_errors"
    assert (entry["errorCode"], entry["errorDescription"]) == (
        "808",
        "ZtdDeviceAssignedToOtherTenant",
    )
    assert "deviceId" not in entry  # another tenant's device is not named
    details = BatchUploadDetails.model_validate(document)
    assert details.done and not details.succeeded
    assert [d.error_code for d in details.failed_devices] == ["808"]


def test_status_with_errors_setting_restores_the_old_top_level_status(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    worker = Worker(db, settings.model_copy(update={"batch_status_with_errors": True}))
    tracking = _seed_808(client, world, worker)
    document = status_of(client, world.customer, tracking, world.auth())
    assert document["status"] == "finished_with_errors"
    assert document["devicesStatus"][0]["errorCode"] == "808"
    clean = create_batch(client, world.customer, world.auth(), "clean", [hash_device(1)])
    worker.run_until_idle()
    assert status_of(client, world.customer, clean, world.auth())["status"] == "finished"


def test_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().batch_status_with_errors is False
    monkeypatch.setenv("ZTD_BATCH_STATUS_WITH_ERRORS", "true")
    assert Settings().batch_status_with_errors is True


def test_powershell_policy_bodies_create_and_put(client: TestClient, world: World) -> None:
    created = client.post(_policies_url(world), json=POWERSHELL_POLICY, headers=world.auth())
    assert created.status_code == 200, created.text
    policy = created.json()
    assert policy["category"] == "o_o_b_e"  # responses keep snake_case
    assert policy["policySettings"] == ["oobe_user_not_local_admin", "skip_express_settings"]
    assert policy["devicesAssignedCount"] == 0 and policy["devicesAssigned"] == 0
    # Set-PartnerCustomerConfigurationPolicy: GET, change, PUT the whole object back.
    body = {**POWERSHELL_POLICY, "Id": policy["id"], "Category": "OOBE", "Name": "PS v2"}
    body["PolicySettings"] = ["SkipEula", "RemoveOemPreinstalls", "SkipOemRegistration"]
    put = client.put(f"{_policies_url(world)}/{policy['id']}", json=body, headers=world.auth())
    assert put.status_code == 200, put.text
    assert put.json()["name"] == "PS v2"
    assert put.json()["policySettings"] == [
        "skip_eula",
        "remove_oem_preinstalls",
        "skip_oem_registration",
    ]


@pytest.mark.parametrize(
    ("category", "setting", "stored"),
    [
        ("o_o_b_e", "skip_eula", "skip_eula"),
        ("OOBE", "SkipEula", "skip_eula"),
        ("oobe", "SKIP_EULA", "skip_eula"),
        ("O_O_B_E", "skipEula", "skip_eula"),
        ("NONE", "OobeUserNotLocalAdmin", "oobe_user_not_local_admin"),
        ("none", "oobe_user_not_local_admin", "oobe_user_not_local_admin"),
    ],
)
def test_policy_enums_in_any_spelling(
    client: TestClient, world: World, category: str, setting: str, stored: str
) -> None:
    body = {"name": "p", "category": category, "policySettings": [setting]}
    response = client.post(_policies_url(world), json=body, headers=world.auth())
    assert response.status_code == 200, response.text
    assert response.json()["category"] == "o_o_b_e"
    assert response.json()["policySettings"] == [stored]


def test_unknown_enum_names_are_still_refused_by_name(client: TestClient, world: World) -> None:
    response = client.post(
        _policies_url(world),
        json={"name": "p", "policySettings": ["SkipEverything"]},
        headers=world.auth(),
    )
    assert response.status_code == 400
    assert "policySettings[0]" in response.json()["description"]
    response = client.post(
        _policies_url(world), json={"name": "p", "category": "Autopilot"}, headers=world.auth()
    )
    assert response.status_code == 400 and "category" in response.json()["description"]


@pytest.mark.parametrize("key", ["OOBE", "o_o_b_e", "Oobe", "O_O_B_E"])
def test_device_policy_update_key_in_any_spelling_assigns(
    client: TestClient, world: World, worker: Worker, key: str
) -> None:
    policy = client.post(_policies_url(world), json=POWERSHELL_POLICY, headers=world.auth()).json()
    create_batch(client, world.customer, world.auth(), "b", [hash_device(1)])
    worker.run_until_idle()
    [device] = _devices(client, world.customer, "b", world.auth())
    body = {"Devices": [{"Id": device["id"], "Policies": [{"Key": key, "Value": policy["id"]}]}]}
    tracking = _assign(client, world, body)
    worker.run_until_idle()
    [entry] = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    assert entry["status"] == "finished" and "errorCode" not in entry
    [device] = _devices(client, world.customer, "b", world.auth())
    assert device["policies"] == [{"key": "o_o_b_e", "value": policy["id"]}]


def test_wire_enums_fold_like_the_sdk_converter() -> None:
    assert KeyValuePair.model_validate({"Key": "OOBE"}).key is PolicyCategory.OOBE
    assert KeyValuePair.model_validate({"key": "o_o_b_e"}).key is PolicyCategory.OOBE
    assert KeyValuePair.model_validate({"key": "None"}).key is PolicyCategory.NONE
    assert (
        DeviceUploadStatusType("FinishedWithErrors") is DeviceUploadStatusType.FINISHED_WITH_ERRORS
    )
    assert DeviceUploadStatusType("in-progress") is DeviceUploadStatusType.UNKNOWN


# IDevice.Patch: a PUT of the whole Device, as the .NET SDK sends it.


def _one_device(client: TestClient, world: World, worker: Worker, batch: str = "b") -> Any:
    create_batch(client, world.customer, world.auth(), batch, [hash_device(7)])
    worker.run_until_idle()
    [device] = _devices(client, world.customer, batch, world.auth())
    return device


def _dotnet_device(device: dict[str, Any], policies: Any) -> dict[str, Any]:
    """The Device the SDK read, PascalCase, with its junk, sent back by Patch."""
    return {
        "Id": device["id"],
        "SerialNumber": device["serialNumber"],
        "HardwareHash": None,
        "Policies": policies,
        "UploadedDate": "0001-01-01T00:00:00",
        "AllowedOperations": device["allowedOperations"],
        "Attributes": {"ObjectType": "Device"},
    }


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_device_sets_and_clears_its_policy(
    client: TestClient, world: World, worker: Worker, method: str
) -> None:
    policy = client.post(_policies_url(world), json=POWERSHELL_POLICY, headers=world.auth()).json()
    device = _one_device(client, world, worker)
    assert device["allowedOperations"] == ["GET", "PATCH", "DELETE"]
    url = f"/v1/customers/{world.customer}/deviceBatches/b/devices/{device['id']}"
    assert device["links"]["self"]["uri"] == url.removeprefix("/v1")
    body = _dotnet_device(device, [{"Key": "OOBE", "Value": policy["id"]}])
    headers = {**world.auth(), "MS-RequestId": str(uuid.uuid4())}
    response = client.request(method, url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == device["id"]
    assert response.json()["policies"] == [{"key": "o_o_b_e", "value": policy["id"]}]
    assert response.json()["attributes"] == {"objectType": "Device"}
    assert client.request(method, url, json=body, headers=headers).json() == response.json()
    assert client.get(url, headers=world.auth()).json()["policies"][0]["value"] == policy["id"]
    counted = client.get(f"{_policies_url(world)}/{policy['id']}", headers=world.auth()).json()
    assert counted["devicesAssignedCount"] == 1
    # Policies with an OOBE entry and no value: no policy. Policies left out: unchanged.
    cleared = client.request(
        method, url, json=_dotnet_device(device, [{"Key": "o_o_b_e"}]), headers=world.auth()
    )
    assert cleared.json()["policies"] == [{"key": "o_o_b_e"}]
    kept = client.request(method, url, json={"Id": device["id"]}, headers=world.auth())
    assert kept.status_code == 200 and kept.json()["policies"] == [{"key": "o_o_b_e"}]


def test_put_device_tenancy_and_refusals(client: TestClient, world: World, worker: Worker) -> None:
    device = _one_device(client, world, worker)
    theirs = client.post(
        f"/v1/customers/{world.other_customer}/policies",
        json=POWERSHELL_POLICY,
        headers=world.auth(world.other_token),
    ).json()
    url = f"/v1/customers/{world.customer}/deviceBatches/b/devices/{device['id']}"
    body = {"Policies": [{"Key": "OOBE", "Value": theirs["id"]}]}
    refused = client.put(url, json=body, headers=world.auth())
    assert refused.status_code == 400 and "810" in refused.json()["description"]
    body = {"Policies": [{"Key": "OOBE", "Value": str(uuid.uuid4())}]}
    assert "809" in client.put(url, json=body, headers=world.auth()).json()["description"]
    # Another partner's device looks exactly like a missing one.
    missing_customer = str(uuid.uuid4())
    for customer, token in ((world.customer, world.other_token), (missing_customer, None)):
        other_url = f"/v1/customers/{customer}/deviceBatches/b/devices/{device['id']}"
        answer = client.put(other_url, json={}, headers=world.auth(token))
        assert (answer.status_code, answer.json()["code"]) == (404, "60003")
    for path in (
        f"b/devices/{uuid.uuid4()}",
        "b/devices/not-a-guid",
        f"nope/devices/{device['id']}",
    ):
        answer = client.put(
            f"/v1/customers/{world.customer}/deviceBatches/{path}", json={}, headers=world.auth()
        )
        assert (answer.status_code, answer.json()["code"]) == (404, "1000")
    sales = {"Authorization": "Bearer " + _sales_token(world, client)}
    assert client.put(url, json={}, headers=sales).status_code == 403
    for bad in ([], {"Policies": "OOBE"}, {"Policies": [{"Key": "OOBE", "Value": 3}]}):
        answer = client.put(url, json=bad, headers=world.auth())
        assert answer.status_code == 400 and answer.json()["code"] == "800002", bad


def _sales_token(world: World, client: TestClient) -> str:
    from tests.support.world import make_token
    from ztd.server.auth.tokens import Role

    settings: Settings = client.app.state.ztd.settings  # type: ignore[attr-defined]
    return make_token(settings, world.partner, roles=(Role.SALES_AGENT,))


# Policies sent with an upload (PowerShell copies Device.Policies into uploads).


def test_upload_policies_take_effect_with_per_device_codes(
    client: TestClient, world: World, worker: Worker
) -> None:
    mine = client.post(_policies_url(world), json=POWERSHELL_POLICY, headers=world.auth()).json()
    theirs = client.post(
        f"/v1/customers/{world.other_customer}/policies",
        json=POWERSHELL_POLICY,
        headers=world.auth(world.other_token),
    ).json()

    def with_policy(seed: int, key: str, value: str | None) -> dict[str, Any]:
        return hash_device(seed, Policies=[{"Key": key, "Value": value}])

    tracking = create_batch(
        client,
        world.customer,
        world.auth(),
        "with policies",
        [
            with_policy(1, "OOBE", mine["id"]),
            with_policy(2, "o_o_b_e", theirs["id"]),  # 810
            with_policy(3, "OOBE", str(uuid.uuid4())),  # 809
            with_policy(4, "OOBE", None),  # no policy: registers without one
            hash_device(5),
        ],
    )
    worker.run_until_idle()
    document = status_of(client, world.customer, tracking, world.auth())
    assert document["status"] == "finished"
    codes = [(d.get("errorCode"), d["status"]) for d in document["devicesStatus"]]
    assert codes == [
        (None, "finished"),
        ("810", "finished_with_errors"),
        ("809", "finished_with_errors"),
        (None, "finished"),
        (None, "finished"),
    ]
    assert all(d.get("deviceId") for d in document["devicesStatus"])  # all registered
    listed = {
        d["serialNumber"]: d["policies"]
        for d in _devices(client, world.customer, "with policies", world.auth())
    }
    serial = [synthesize_device(seed).serial for seed in range(1, 6)]
    assert listed[serial[0]] == [{"key": "o_o_b_e", "value": mine["id"]}]
    assert [listed[s] for s in serial[1:]] == [[{"key": "o_o_b_e"}]] * 4
    # E2 takes them too, with the .NET SDK's nulls.
    more = client.post(
        f"/v1/customers/{world.customer}/deviceBatches/with policies/devices",
        json=[hash_device(9, Policies=[{"Key": "o_o_b_e", "Value": mine["id"]}], Id=None)],
        headers=world.auth(),
    )
    assert more.status_code == 202
    worker.run_until_idle()
    policy = client.get(f"{_policies_url(world)}/{mine['id']}", headers=world.auth()).json()
    assert policy["devicesAssigned"] == 2


@pytest.mark.parametrize(
    "policies",
    ["OOBE", [3], [{"Key": 1, "Value": "x"}], [{"Key": "OOBE", "Value": 7}]],
)
def test_malformed_upload_policies_are_400_naming_the_device(
    client: TestClient, world: World, policies: Any
) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": "b", "Devices": [hash_device(1), hash_device(2, Policies=policies)]},
        headers=world.auth(),
    )
    assert response.status_code == 400, response.text
    assert "devices[1].Policies" in response.json()["description"]


# The device shape, DeviceBatch and Customer as the real service returns them.


def test_device_batch_and_customer_shapes(client: TestClient, world: World, worker: Worker) -> None:
    device = _one_device(client, world, worker, batch="Test batch")
    assert device["policies"] == [{"key": "o_o_b_e"}]
    assert device["uploadedBy"] == "Fabrikam Partner"
    assert "hardwareHash" not in device
    single = client.get(
        f"/v1/customers/{world.customer}/deviceBatches/Test batch/devices/{device['id']}",
        headers=world.auth(),
    ).json()
    assert single["hardwareHash"] == hash_device(7)["HardwareHash"]
    bad = client.get(
        f"/v1/customers/{world.customer}/deviceBatches/Test batch/devices?includeHardwareHash=yes",
        headers=world.auth(),
    )
    assert bad.status_code == 400 and "includeHardwareHash" in bad.json()["description"]
    [batch] = client.get(
        f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth()
    ).json()["items"]
    assert batch["status"] == "finished"
    self_uri = f"/customers/{world.customer}/deviceBatches/Test%20batch"  # one encoded path segment
    assert batch["links"]["self"] == {"uri": self_uri, "method": "GET", "headers": []}
    assert client.get("/v1" + self_uri, headers=world.auth()).json() == batch
    customer = client.get(f"/v1/customers/{world.customer}", headers=world.auth()).json()
    assert uuid.UUID(customer["commerceId"]) and customer["commerceId"] != world.customer
    assert customer["allowDelegatedAccess"] is True
    assert customer["links"]["self"]["uri"] == f"/customers/{world.customer}"
    profile = customer["companyProfile"]
    assert (profile["tenantId"], profile["companyName"]) == (world.customer, "Contoso")
    assert (
        client.get("/v1" + profile["links"]["self"]["uri"], headers=world.auth()).json() == profile
    )


def test_a_queued_batch_reads_queued(client: TestClient, world: World) -> None:
    create_batch(client, world.customer, world.auth(), "waiting", [hash_device(1)])
    [batch] = client.get(
        f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth()
    ).json()["items"]
    assert (batch["status"], batch["devicesCount"]) == ("queued", 0)


# Lenient where ASP.NET is lenient.


@pytest.mark.parametrize(
    "path",
    [
        "//v1/customers/{c}/deviceBatches",
        "/v1//customers/{c}//deviceBatches",
        "/v1/customers/{c}/deviceBatches/",
        "/v1/customers/{c}/deviceBatches//",
    ],
)
def test_double_and_trailing_slashes_answer_as_the_clean_request(
    client: TestClient, world: World, path: str
) -> None:
    # Absolute: a bare "//v1/..." would read as a network-path reference (host "v1").
    url = "http://testserver" + path.format(c=world.customer)
    response = client.get(url, headers=world.auth(), follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.json()["attributes"] == {"objectType": "Collection"}
    posted = client.post(
        url, json={"BatchId": "slashes", "Devices": [hash_device(1)]}, headers=world.auth()
    )
    assert posted.status_code == 202, posted.text  # a fresh database per test: never a 409


def test_status_poll_with_a_double_slash(client: TestClient, world: World, worker: Worker) -> None:
    tracking = create_batch(client, world.customer, world.auth(), "b", [hash_device(1)])
    worker.run_until_idle()
    for _ in range(2):  # the second read comes from the fast path's cache
        response = client.get(
            f"http://testserver//v1/customers/{world.customer}/batchJobStatus/{tracking}/",
            headers=world.auth(),
        )
        assert response.status_code == 200 and response.json()["status"] == "finished"


@pytest.mark.parametrize(
    "body",
    [
        b'{"BatchId": "commas", "Devices": [{"SerialNumber": "S", "HardwareHash": "%s",},],}',
        b'{"BatchId": "commas",\n "Devices": [\n  {"HardwareHash": "%s"} ,\n ] ,\n}',
    ],
)
def test_trailing_commas_are_read_as_newtonsoft_reads_them(
    client: TestClient, world: World, body: bytes
) -> None:
    hardware_hash = synthesize_device(1).hardware_hash.encode()
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=body.replace(b"%s", hardware_hash),
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "body",
    [b'{"name": "a,}", "policySettings": [,]}', b'{"name": "x",,}', b"[1,,]", b'{"name": "x"'],
)
def test_json_that_is_not_json_even_so_is_still_400(
    client: TestClient, world: World, body: bytes
) -> None:
    response = client.post(
        _policies_url(world), content=body, headers={**world.auth(), "Content-Type": "text/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["description"]


def test_commas_inside_strings_are_kept(client: TestClient, world: World) -> None:
    body = b'{"name": "a, ]", "description": "x,}", "policySettings": ["skip_eula",],}'
    response = client.post(
        _policies_url(world), content=body, headers={**world.auth(), "Content-Type": "text/json"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["description"]) == ("a, ]", "x,}")


# Status entries say which device they are about.


def test_hash_only_entries_carry_the_decoded_serial_and_806_the_existing_id(
    client: TestClient, world: World, worker: Worker
) -> None:
    devices = [synthesize_device(seed) for seed in (1, 2)]
    first = create_batch(
        client, world.customer, world.auth(), "b", [{"HardwareHash": devices[0].hardware_hash}]
    )
    worker.run_until_idle()
    [registered] = status_of(client, world.customer, first, world.auth())["devicesStatus"]
    assert registered["serialNumber"] == devices[0].serial
    # The PKID inside the hash is the product key the entry and the device carry.
    assert devices[0].pkid and registered["productKey"] == devices[0].pkid
    again = client.post(
        f"/v1/customers/{world.customer}/deviceBatches/b/devices",
        json=[{"hardwareHash": d.hardware_hash} for d in (devices[1], devices[0])],
        headers=world.auth(),
    )
    worker.run_until_idle()
    entries = status_of(
        client, world.customer, again.headers["Location"].split("/")[4], world.auth()
    )["devicesStatus"]
    assert [e["serialNumber"] for e in entries] == [devices[1].serial, devices[0].serial]
    assert [e.get("productKey") for e in entries] == [devices[1].pkid, devices[0].pkid]
    assert entries[1]["errorCode"] == "806"
    assert entries[1]["deviceId"] == registered["deviceId"]
    listed = {
        d["serialNumber"]: d.get("productKey")
        for d in _devices(client, world.customer, "b", world.auth())
    }
    assert listed == {devices[0].serial: devices[0].pkid, devices[1].serial: devices[1].pkid}
    # A hash without a PKID (a virtual machine's) and a product key sent beside a hash: the
    # entry says what is known, and never replaces what was sent.
    vm_hash = synthesize_hash(3, with_pkid=False)
    sent_pid = "00329-00000-0003-AA606"
    more = client.post(
        f"/v1/customers/{world.customer}/deviceBatches/b/devices",
        json=[
            {"hardwareHash": vm_hash},
            {"hardwareHash": synthesize_device(4).hardware_hash, "productKey": sent_pid},
        ],
        headers=world.auth(),
    )
    worker.run_until_idle()
    vm, with_pid = status_of(
        client, world.customer, more.headers["Location"].split("/")[4], world.auth()
    )["devicesStatus"]
    assert "productKey" not in vm and vm["serialNumber"] == synthesize_device(3).serial
    assert with_pid["productKey"] == sent_pid
