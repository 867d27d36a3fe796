"""A request body that gives a property twice (exactly, or in two spellings the API reads as
one name) is a 400 naming the property's JSON path, on every JSON route and whatever the
body's size; nothing is written."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.api import assert_error, hash_device
from tests.support.world import World
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs


def _body_with(devices_text: list[str], prefix: str = '{"BatchId":"twice","Devices":[') -> bytes:
    return (prefix + ",".join(devices_text) + "]}").encode()


def _device_text(seed: int) -> str:
    return orjson.dumps(hash_device(seed)).decode()


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        (',"SerialNumber":"OTHER"', "Devices[3].SerialNumber"),  # exactly as sent before
        (',"serialNumber":"OTHER"', "Devices[3].serialNumber"),  # another case
        (',"serial_number":"OTHER"', "Devices[3].serial_number"),  # the snake_case name
    ],
)
def test_a_device_property_given_twice_is_a_400_with_its_path(
    client: TestClient, world: World, db: Database, extra: str, path: str
) -> None:
    devices = [_device_text(n) for n in range(5)]
    devices[3] = devices[3][:-1] + extra + "}"
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=_body_with(devices),
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    error = assert_error(response, 400, "800002")
    assert error["description"].startswith(f"The request body is ambiguous: {path}: ")
    assert error["data"] == [path]
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 0


def test_a_large_body_is_checked_too(client: TestClient, world: World) -> None:
    """Over the size read in a worker thread and parsed in pieces."""
    devices = [_device_text(n) for n in range(400)]
    devices[399] = devices[399][:-1] + ',"HardwareHash":"QUJD"}'
    body = _body_with(devices)
    assert len(body) > 1024 * 1024
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=body,
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    assert assert_error(response, 400, "800002")["data"] == ["Devices[399].HardwareHash"]


def test_other_routes_and_the_envelope(client: TestClient, world: World) -> None:
    auth = {**world.auth(), "Content-Type": "application/json"}
    twice_batch = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=b'{"batchId":"a","BatchId":"b","devices":[' + _device_text(1).encode() + b"]}",
        headers=auth,
    )
    assert assert_error(twice_batch, 400, "800002")["data"] == ["BatchId"]
    policy = client.post(
        f"/v1/customers/{world.customer}/policies",
        content=b'{"name":"a","policySettings":["skip_eula"],"Name":"b"}',
        headers=auth,
    )
    assert assert_error(policy, 400, "800002")["data"] == ["Name"]
    update = client.patch(
        f"/v1/customers/{world.customer}/DevicePolicyUpdates",
        content=b'{"devices":[{"id":"d","policies":[{"key":"o_o_b_e","value":"p","Value":"q"}]}]}',
        headers=auth,
    )
    assert assert_error(update, 400, "800002")["data"] == ["devices[0].policies[0].Value"]


def test_the_same_names_in_different_objects_and_colons_in_values_are_fine(
    client: TestClient, world: World
) -> None:
    device = hash_device(7) | {"UploadedDate": "0001-01-01T00:00:00", "Note": 'a\\":b'}
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        content=orjson.dumps({"BatchId": "fine", "Devices": [device, hash_device(8)]}),
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
