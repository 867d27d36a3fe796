"""Error bodies, status codes and limits, as Partner Center answers them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_error, create_batch, hash_device
from tests.support.world import World
from ztd.server.settings import Settings


def test_existing_batch_id_is_409(client: TestClient, world: World) -> None:
    create_batch(client, world.customer, world.auth(), "Dup", [hash_device(1)])
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "DUP", "devices": [hash_device(2)]},
        headers=world.auth(),
    )
    body = assert_error(response, 409, "409")
    assert "already exists" in body["description"]


def test_unknown_tracking_id_is_404(client: TestClient, world: World) -> None:
    for tracking in ("3f1d7a8e-0000-4000-8000-000000000000", "not-a-guid"):
        response = client.get(
            f"/v1/customers/{world.customer}/batchJobStatus/{tracking}", headers=world.auth()
        )
        assert_error(response, 404, "1000")


def test_malformed_json_names_the_problem(client: TestClient, world: World) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=b'{"batchId": "x", "devices": [',
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    body = assert_error(response, 400, "800002")
    assert "line 1, column" in body["description"]


def test_wrong_field_type_names_the_field(client: TestClient, world: World) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "x", "devices": [{"serialNumber": 12}, hash_device(1)]},
        headers=world.auth(),
    )
    body = assert_error(response, 400, "800002")
    assert "devices[0].serialNumber" in body["description"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic abc", "Bearer not.a.jwt"],
)
def test_missing_or_malformed_token_is_401(
    client: TestClient, world: World, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get(f"/v1/customers/{world.customer}/deviceBatches", headers=headers)
    assert_error(response, 401, "400")


def test_tampered_token_is_401(client: TestClient, world: World) -> None:
    header, payload, signature = world.token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    response = client.get(
        f"/v1/customers/{world.customer}/deviceBatches",
        headers={"Authorization": f"Bearer {header}.{payload}.{flipped}"},
    )
    assert_error(response, 401, "400")


def test_other_partners_customer_looks_like_a_missing_one(client: TestClient, world: World) -> None:
    theirs = client.get(f"/v1/customers/{world.other_customer}/deviceBatches", headers=world.auth())
    missing = client.get(
        "/v1/customers/0b9d2a51-1111-4222-8333-944455556666/deviceBatches", headers=world.auth()
    )
    assert theirs.status_code == missing.status_code == 404
    a, b = theirs.json(), missing.json()
    assert a["code"] == b["code"] == "60003"
    assert a["description"].replace(world.other_customer, "X") == b["description"].replace(
        "0b9d2a51-1111-4222-8333-944455556666", "X"
    )


def test_unknown_route_and_wrong_method(client: TestClient, world: World) -> None:
    assert_error(client.get("/v1/nothing", headers=world.auth()), 404, "1000")
    response = client.put(f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth())
    assert_error(response, 405, "405")


def test_unsupported_media_type_is_415(client: TestClient, world: World) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=b"<xml/>",
        headers={**world.auth(), "Content-Type": "application/xml"},
    )
    assert_error(response, 415, "415")


def test_body_over_the_limit_is_413(client: TestClient, world: World, settings: Settings) -> None:
    settings.max_body_bytes = 1000
    big = {"batchId": "big", "devices": [hash_device(i) for i in range(3)]}
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches", json=big, headers=world.auth()
    )
    body = assert_error(response, 413, "413")
    assert "1000 bytes" in body["description"]


def test_too_many_devices_names_the_limit(
    client: TestClient, world: World, settings: Settings
) -> None:
    settings.max_devices_per_request = 2
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "many", "devices": [hash_device(i) for i in range(3)]},
        headers=world.auth(),
    )
    body = assert_error(response, 400, "800002")
    assert "limit is 2" in body["description"]


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_device_problems_name_the_device_and_property(client: TestClient, world: World) -> None:
    url = f"/v1/customers/{world.customer}/deviceBatches"
    cases = [
        ({"batchId": "x", "devices": [hash_device(1), "oops"]}, "devices[1]: expected a Device"),
        (
            {"batchId": "x", "devices": [{"SerialNumber": "S" * 300}]},
            "devices[0].SerialNumber: 300",
        ),
        ({"batchId": "x", "devices": [{"productKey": True}]}, "devices[0].productKey: expected"),
        ({"batchId": 5, "devices": [hash_device(1)]}, "batchId must be a string"),
        ({"batchId": "b" * 300, "devices": [hash_device(1)]}, "at most 256"),
    ]
    for body, expected in cases:
        response = client.post(url, json=body, headers=world.auth())
        assert expected in assert_error(response, 400, "800002")["description"]
    bare = client.post(f"{url}/x/devices", json=[{"serialNumber": 1}], headers=world.auth())
    assert "body[0].serialNumber: expected a string, got a number" in bare.json()["description"]
