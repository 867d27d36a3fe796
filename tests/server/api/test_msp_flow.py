"""A popular MSP tool's upload flow, replayed over HTTP against a running server: it lists
``DeviceBatches`` (capital D), reads ``items[].id`` and ``totalCount``, creates a batch, follows
``Location`` and polls four times, one second apart, stopping on ``"finished"`` only; anything
else it reports as "might still be running"."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import hash_device
from tests.support.live_server import live_server
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

POLLS = 4
POLL_INTERVAL = 1.0  # the tool's own cadence, not a wait for work


@pytest.fixture
def base_url(settings: Settings, db: Database, world: World) -> Iterator[str]:
    with live_server(create_app(settings, db=db, embedded_worker=True)) as url:
        yield url


def _upload_as_the_msp_tool(
    http: httpx.Client, customer: str, batch: str, devices: list[dict[str, str]]
) -> dict[str, object]:
    batches_url = f"/v1/customers/{customer}/DeviceBatches"
    listed = http.get(batches_url)
    assert listed.status_code == 200, listed.text
    names = [item["id"] for item in listed.json()["items"]]
    assert listed.json()["totalCount"] == len(names)
    if batch in names:
        created = http.post(f"{batches_url}/{batch}/devices", json=devices)
    else:
        created = http.post(batches_url, json={"batchId": batch, "devices": devices})
    assert created.status_code == 202, created.text
    status_url = "/v1" + created.headers["Location"]
    for attempt in range(POLLS):
        status = http.get(status_url)
        assert status.status_code == 200, status.text
        if status.json()["status"] == "finished":
            return dict(status.json())
        if attempt < POLLS - 1:
            time.sleep(POLL_INTERVAL)
    raise AssertionError(f"the tool would report 'might still be running': {status.text}")


def test_msp_tool_flow_sees_finished_even_when_a_device_fails(base_url: str, world: World) -> None:
    headers = {**world.auth(), "MS-RequestId": str(uuid.uuid4())}
    with httpx.Client(base_url=base_url, headers=world.auth(), timeout=30) as http:
        first = _upload_as_the_msp_tool(
            http, world.customer, "msp batch", [hash_device(1), hash_device(2)]
        )
        assert [d.get("errorCode") for d in first["devicesStatus"]] == [None, None]  # type: ignore[attr-defined]
        # The same tool run again: the batch exists (listed), one device is already there.
        again = _upload_as_the_msp_tool(
            http, world.customer, "msp batch", [hash_device(2), hash_device(3)]
        )
        codes = [d.get("errorCode") for d in again["devicesStatus"]]  # type: ignore[attr-defined]
        assert codes == ["806", None]
        listed = http.get(f"/v1/customers/{world.customer}/DeviceBatches", headers=headers).json()
        assert [(b["id"], b["devicesCount"]) for b in listed["items"]] == [("msp batch", 3)]
