"""Building request bodies and reading results in API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ztd.identity import synthesize_device


def hash_device(seed: int, **overrides: Any) -> dict[str, Any]:
    """A device as the .NET SDK sends it (PascalCase), with a valid synthetic hash."""
    device = synthesize_device(seed)
    body = {"SerialNumber": device.serial, "HardwareHash": device.hardware_hash}
    body.update(overrides)
    return body


def create_batch(
    client: TestClient, customer: str, headers: dict[str, str], batch_id: str, devices: list[Any]
) -> str:
    response = client.post(
        f"/v1/customers/{customer}/deviceBatches",
        json={"BatchId": batch_id, "Devices": devices},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    return response.headers["Location"].split("/")[4]


def status_of(
    client: TestClient, customer: str, tracking_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    response = client.get(f"/v1/customers/{customer}/batchJobStatus/{tracking_id}", headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
