"""Building request bodies and reading results in API tests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.support.world import World
from ztd.identity import synthesize_device
from ztd.server.jobs.worker import Worker


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


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Partner Center's error body with ``code``, answered with ``status``; returns it."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "description", "data", "source"}
    assert body["code"] == code
    assert body["description"]
    assert response.headers.get("MS-CorrelationId")
    return body


def upload_each(
    client: TestClient, world: World, customer: str, token: str, devices: list[Any]
) -> list[Any]:
    """Upload each device in a batch of its own (copies in one batch would be duplicates of
    each other) and return their per-device status entries."""
    trackings = [
        create_batch(client, customer, world.auth(token), f"b-{uuid.uuid4().hex[:8]}", [device])
        for device in devices
    ]
    Worker(client.app.state.ztd.db, client.app.state.ztd.settings).run_until_idle()  # type: ignore[attr-defined]
    return [
        status_of(client, customer, tracking, world.auth(token))["devicesStatus"][0]
        for tracking in trackings
    ]


def error_codes(entries: list[Any]) -> list[tuple[str | None, str | None]]:
    """(errorCode, errorDescription) of each status entry."""
    return [(e.get("errorCode"), e.get("errorDescription")) for e in entries]
