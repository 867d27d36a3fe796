"""Strict mode: tuples match the OEM record exactly, else 812 naming the difference; an OEM
record's values are never overwritten by an upload (issue 13, field cases 09, 13, 13b, 13d)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.api import error_codes, upload_each
from tests.support.ci import IN_CI
from tests.support.shared import SHARED
from tests.support.world import World
from ztd.identity.csv_reader import read_devices
from ztd.identity.synthetic import synthesize_hash
from ztd.server.clock import utc_now
from ztd.server.services import oem_registry
from ztd.server.settings import RegistrationMode, Settings
from ztd.server.storage.schema import oem_devices

CASES = SHARED / "fixtures" / "field-cases"
OEM = [
    ("LENOVO", "21R3001BUK", "R9Y0Y28G"),
    ("LENOVO", "21R3001BUK", "PFV534AS"),
    ("LENOVO", "20XW004GUS", "PCYJD2AT"),
]


def _case(name: str) -> Path:
    path = CASES / name
    if not path.exists():
        if IN_CI:
            pytest.fail(f"fixture {path} is missing in CI")
        pytest.skip("shared fixtures absent")
    return path


def _tuples(name: str) -> list[dict[str, Any]]:
    result = read_devices(_case(name).read_bytes(), source=name)
    return [
        {
            "serialNumber": d.serial_number,
            "oemManufacturerName": d.manufacturer,
            "modelName": d.model,
        }
        for d in result.devices
    ]


def _import_oem(client: TestClient) -> None:
    rows = [
        (
            f"record {n}",
            {"hardware_hash": synthesize_hash(90 + n, serial=s, manufacturer=m, model=mo)},
        )
        for n, (m, mo, s) in enumerate(OEM)
    ]
    records, problems = oem_registry.prepare_records(rows)
    assert problems == []
    with client.app.state.ztd.db.write() as conn:  # type: ignore[attr-defined]
        assert oem_registry.import_records(conn, records, utc_now()) == len(OEM)


def _oem_rows(client: TestClient) -> list[tuple[str, str, str]]:
    with client.app.state.ztd.db.read() as conn:  # type: ignore[attr-defined]
        query = select(
            oem_devices.c.manufacturer, oem_devices.c.model_name, oem_devices.c.serial_number
        )
        return sorted(tuple(row) for row in conn.execute(query))  # type: ignore[misc]


def test_strict_tuples_match_the_oem_record_exactly(
    client: TestClient, world: World, settings: Settings
) -> None:
    settings.registration_mode = RegistrationMode.STRICT
    _import_oem(client)

    case_mismatch, exact = upload_each(
        client, world, world.customer, world.token, _tuples("case13b-tuple-case-mismatch.csv")
    )
    assert error_codes([case_mismatch]) == [("812", "ZtdDeviceNotFound")]
    assert case_mismatch["errorDetail"] == (
        "manufacturer 'Lenovo' differs from the OEM record's 'LENOVO' "
        "(only in letter case; the tuple is case-sensitive)"
    )
    assert exact["status"] == "finished" and "errorCode" not in exact

    [wrong_model] = upload_each(
        client, world, world.customer, world.token, _tuples("case13d-tuple-wrong-model.csv")
    )
    assert error_codes([wrong_model]) == [("812", "ZtdDeviceNotFound")]
    assert wrong_model["errorDetail"] == (
        "model 'ThinkPad X1 Carbon' differs from the OEM record's '20XW004GUS'"
    )

    # Variants built here: serial case, a look-alike letter, two differences at once.
    variants = [
        {"serialNumber": "pcyjd2at", "oemManufacturerName": "LENOVO", "modelName": "20XW004GUS"},
        {
            "serialNumber": "PCYJD2AT",
            "oemManufacturerName": "L\u0415NOVO",
            "modelName": "20XW004GUS",
        },
        {"serialNumber": " R9Y0Y28G", "oemManufacturerName": "lenovo", "modelName": "20XW004GUS"},
    ]
    serial_case, lookalike, two = upload_each(client, world, world.customer, world.token, variants)
    assert error_codes([serial_case, lookalike, two]) == [("812", "ZtdDeviceNotFound")] * 3
    assert serial_case["errorDetail"].startswith(
        "serial number 'pcyjd2at' differs from the OEM record's 'PCYJD2AT'"
    )
    assert "manufacturer 'L\u0415NOVO' differs" in lookalike["errorDetail"]
    assert two["errorDetail"] == (
        "manufacturer 'lenovo' differs from the OEM record's 'LENOVO' (only in letter case; "
        "the tuple is case-sensitive); model '20XW004GUS' differs from the OEM record's "
        "'21R3001BUK'"
    )
    # Whitespace around a value is not a difference: this is the OEM record's device.
    [padded] = upload_each(
        client,
        world,
        world.customer,
        world.token,
        [
            {
                "serialNumber": "PCYJD2AT ",
                "oemManufacturerName": " LENOVO",
                "modelName": "20XW004GUS",
            }
        ],
    )
    assert padded["status"] == "finished" and "errorCode" not in padded
    assert _oem_rows(client) == sorted(OEM)  # (manufacturer, model, serial), unchanged


def test_open_mode_keeps_the_oem_records_values(client: TestClient, world: World) -> None:
    _import_oem(client)
    [wrong_model] = upload_each(
        client, world, world.customer, world.token, _tuples("case13d-tuple-wrong-model.csv")
    )
    assert wrong_model["status"] == "finished"
    listed = client.get(
        f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth()
    ).json()["items"]
    [batch] = listed
    devices = client.get(
        f"/v1/customers/{world.customer}/deviceBatches/{batch['id']}/devices", headers=world.auth()
    ).json()["items"]
    assert [(d["oemManufacturerName"], d["modelName"], d["serialNumber"]) for d in devices] == [
        ("LENOVO", "20XW004GUS", "PCYJD2AT")
    ]
    assert ("LENOVO", "20XW004GUS", "PCYJD2AT") in _oem_rows(client)


@pytest.mark.parametrize("mode", [RegistrationMode.OPEN, RegistrationMode.STRICT])
def test_case09_and_case13_keep_working(
    client: TestClient, world: World, settings: Settings, mode: RegistrationMode
) -> None:
    settings.registration_mode = mode
    body = json.loads(_case("case09-powershell-module-body.json").read_text())
    [powershell] = upload_each(client, world, world.customer, world.token, body["Devices"])
    [quoted] = _tuples("case13-tuple-quoted-comma-manufacturer.csv")
    assert quoted == {
        "serialNumber": "VMW-4F2A-77C1",
        "oemManufacturerName": "VMware, Inc.",
        "modelName": "VMware20,1",
    }
    [vmware] = upload_each(client, world, world.customer, world.token, [quoted])
    if mode is RegistrationMode.OPEN:
        assert powershell["status"] == vmware["status"] == "finished"
    else:  # no OEM record for either: not found, and no hint (there is nothing to compare)
        assert error_codes([powershell, vmware]) == [("812", "ZtdDeviceNotFound")] * 2
        assert "errorDetail" not in powershell and "errorDetail" not in vmware
