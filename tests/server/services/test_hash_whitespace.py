"""A hash sent with whitespace inside is stored and shown as its one-line text, and is the
same device as that text: a duplicate within an upload, 806 in the next one (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import create_batch, error_codes, status_of, upload_each
from tests.support.world import World
from ztd.identity import synthesize_device
from ztd.server.jobs.worker import Worker


def _wrapped(text: str, width: int, sep: str) -> str:
    return sep.join(text[i : i + width] for i in range(0, len(text), width))


def _variants(h: str) -> list[str]:
    return [
        _wrapped(h, 76, "\r\n"),
        _wrapped(h, 76, "\n"),
        _wrapped(h, 100, " "),
        _wrapped(h, 500, "\t"),
        f" \r\n\t{h}\n ",
        h[:10] + "\v" + h[10:2000] + "\f\r" + h[2000:],
    ]


def _listed(client: TestClient, world: World, batch: str) -> list[dict[str, Any]]:
    url = f"/v1/customers/{world.customer}/deviceBatches/{batch}/devices?includeHardwareHash=true"
    response = client.get(url, headers=world.auth())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_spaced_hash_is_stored_and_shown_as_its_one_line_text(
    client: TestClient, world: World, worker: Worker
) -> None:
    devices = [synthesize_device(seed) for seed in (301, 302, 303, 304, 305, 306)]
    # Each device its own hash, each sent in another spelling.
    sent = [{"HardwareHash": _variants(d.hardware_hash)[i]} for i, d in enumerate(devices)]
    tracking = create_batch(client, world.customer, world.auth(), "spaced", sent)
    worker.run_until_idle()
    entries = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    assert [e["status"] for e in entries] == ["finished"] * len(devices), entries
    shown = {
        item["serialNumber"]: item["hardwareHash"] for item in _listed(client, world, "spaced")
    }
    assert shown == {d.serial: d.hardware_hash for d in devices}


def test_every_spelling_of_a_hash_is_the_same_device(
    client: TestClient, world: World, worker: Worker
) -> None:
    h = synthesize_device(311).hardware_hash
    variants = _variants(h)
    tracking = create_batch(
        client, world.customer, world.auth(), "first", [{"HardwareHash": v} for v in variants]
    )
    worker.run_until_idle()
    entries = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    assert [(e["status"], e.get("errorDescription")) for e in entries] == [
        ("finished", None),
        *[("finished_with_errors", "ZtdDeviceDuplicated")] * (len(variants) - 1),
    ]
    [listed] = _listed(client, world, "first")
    assert listed["hardwareHash"] == h
    again = upload_each(
        client, world, world.customer, world.token, [{"HardwareHash": v} for v in [h, *variants]]
    )
    assert set(error_codes(again)) == {("806", "ZtdDeviceAlreadyAssigned")}, again
