"""What outcome rules and HTTP faults match on, end to end: devices by hardware hash, PKID,
manufacturer and model (sent, or decoded from the hash); calls by OpenAPI operation id."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device, status_of
from tests.support.emulator import add_fault, add_rule, operator_auth, refusal
from tests.support.world import World
from ztd.identity import synthesize_device, synthesize_hash
from ztd.server.api.middleware import canonical_path
from ztd.server.api.openapi.operations import OPERATIONS
from ztd.server.emulator.routes import FAULT_ROUTES
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings


def outcomes(client: TestClient, world: World, customer: str, job: str) -> dict[str, Any]:
    doc = status_of(client, customer, job, world.auth())
    assert doc["status"] == "finished"
    return {
        d["serialNumber"]: d.get("errorCode") or d.get("errorDescription")
        for d in doc["devicesStatus"]
    }


# Devices.


def test_a_hash_rule_matches_its_machine_however_it_is_uploaded(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    machine = synthesize_device(5)
    add_rule(client, op, {"hardwareHash": synthesize_hash(5)}, {"errorCode": "808"})
    lookalike = synthesize_hash(7, serial=machine.serial, manufacturer="Other Maker Ltd")
    job = create_batch(
        client,
        world.customer,
        world.auth(),
        "reads",
        [
            {"HardwareHash": synthesize_hash(5, generation=1)},  # another read of machine 5
            {"SerialNumber": "SAME-SERIAL-OTHER-MAKER", "HardwareHash": lookalike},
            hash_device(6),
        ],
    )
    tuple_job = create_batch(  # machine 5 again, by its tuple, for another customer
        client,
        world.sibling_customer,
        world.auth(),
        "tuple",
        [
            {
                "SerialNumber": machine.serial,
                "OemManufacturerName": machine.manufacturer,
                "ModelName": machine.model,
            }
        ],
    )
    worker.run_until_idle()
    assert outcomes(client, world, world.customer, job) == {
        machine.serial: "808",
        "SAME-SERIAL-OTHER-MAKER": None,
        synthesize_device(6).serial: None,
    }
    assert outcomes(client, world, world.sibling_customer, tuple_job) == {machine.serial: "808"}


def test_pkid_manufacturer_and_model_match_what_the_hash_carries(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    add_rule(client, op, {"productKey": "1234567890123"}, {"errorCode": "808"})
    add_rule(client, op, {"productKey": "3210987654321"}, {"errorCode": "806"})
    add_rule(client, op, {"manufacturer": "contoso labs", "model": "BENCH 9"}, {"errorCode": "812"})
    sent = [  # hash-only devices: serial, maker, model and PKID come from inside the hash
        {"HardwareHash": synthesize_hash(20, serial="PK-IN-HASH", pkid="1234567890123")},
        {"ProductKey": "3210987654321"},  # a PKID-only upload: the PKID as sent
        {"HardwareHash": synthesize_hash(21, serial="PK-OTHER", pkid="5555555555555")},
        {
            "HardwareHash": synthesize_hash(
                22, serial="BENCH-9", manufacturer="Contoso Labs", model="Bench 9"
            )
        },
        {
            "HardwareHash": synthesize_hash(
                23, serial="BENCH-10", manufacturer="Contoso Labs", model="Bench 10"
            )
        },
    ]
    job = create_batch(client, world.customer, world.auth(), "decoded", sent)
    worker.run_until_idle()
    doc = status_of(client, world.customer, job, world.auth())
    assert [d.get("errorCode") for d in doc["devicesStatus"]] == ["808", "806", None, "812", None]
    assert doc["devicesStatus"][1]["productKey"] == "3210987654321"


def _altered(hardware_hash: str) -> str:
    """The hash with one letter of its serial changed: well formed, but its SHA-256 trailer
    no longer matches."""
    raw = bytearray(base64.b64decode(hardware_hash))
    at = raw.find(b"SERIAL-3")
    raw[at] = ord("X")
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda h: "not base64 at all!", "base64"),
        (lambda h: h[:200], "exceeds"),  # cut short
        (lambda h: h[:100] + ("B" if h[100] != "B" else "C") + h[101:], "record"),  # damaged
        (lambda h: h.lower(), "'OA'"),
        (_altered, "SHA-256"),
        (lambda h: " ", "blank"),
    ],
)
def test_a_bad_hash_in_a_rule_is_a_400_naming_the_field(
    client: TestClient, world: World, settings: Settings, damage: Any, reason: str
) -> None:
    op = operator_auth(settings, world)
    damaged = damage(synthesize_hash(3, serial="SERIAL-3"))
    body = {"match": {"hardwareHash": damaged}, "outcome": {"errorCode": "808"}}
    description = refusal(client, op, "rules", body)
    assert "match.hardwareHash" in description and reason in description
    assert client.get("/_ztd/v1/rules", headers=op).json() == []


# Calls.


def test_a_fault_by_operation_id_answers_only_that_operation(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    job = create_batch(client, world.customer, world.auth(), "b1", [hash_device(30)])
    worker.run_until_idle()
    add_fault(client, op, operationId="BatchUploadStatus_Get", status=503, retryAfter=3)
    add_fault(client, op, operationId="Customer_Get", status=500)
    base = f"/v1/customers/{world.customer}"
    for path in (
        f"{base}/batchJobStatus/{job}",
        f"/V1/CUSTOMERS/{world.customer}/batchjobstatus/{job}",
    ):
        answer = client.get(path, headers=world.auth())
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "3", path
        assert answer.json()["code"] == "503"
    assert client.get(base, headers=world.auth()).status_code == 500  # Customer_Get itself
    for untouched in (f"{base}/deviceBatches", f"{base}/deviceBatches/b1", f"{base}/policies"):
        assert client.get(untouched, headers=world.auth()).status_code == 200, untouched
    assert client.get("/v1/customers", headers=world.auth()).status_code == 200
    # The same path with another method is another operation.
    add_fault(client, op, operationId="Devices_Create", status=504, count=1)
    devices = f"{base}/deviceBatches/b1/devices"
    assert client.get(devices, headers=world.auth()).status_code == 200
    posted = client.post(devices, json={"Devices": [hash_device(31)]}, headers=world.auth())
    assert posted.status_code == 504
    listed = {f["operationId"]: f for f in client.get("/_ztd/v1/faults", headers=op).json()}
    assert set(listed) == {"BatchUploadStatus_Get", "Customer_Get"}  # Devices_Create: spent


def test_an_unknown_operation_id_is_a_400_listing_the_known_ones(
    client: TestClient, world: World, settings: Settings
) -> None:
    op = operator_auth(settings, world)
    for unknown in ("BatchJobStatus_Get", "batchuploadstatus_get", "Health_Get", ""):
        description = refusal(client, op, "faults", {"operationId": unknown, "status": 500})
        assert "operationId" in description
        assert "BatchUploadStatus_Get, " in description and "DeviceBatches_Create" in description
        assert "Health_Get," not in description  # probes are never faulted
    contradiction = refusal(
        client, op, "faults", {"operationId": "Devices_Create", "method": "GET", "status": 500}
    )
    assert "'GET'" in contradiction and "POST" in contradiction
    assert client.get("/_ztd/v1/faults", headers=op).json() == []


def _sample(template: str, *, lower: bool = False) -> str:
    """A path of ``template``; ``lower``: its literal segments as a client may spell them
    (the API routes /v1 paths whatever their case)."""
    return "/".join(
        f"Id{i}-0f3A" if part.startswith("{") else part.lower() if lower else part
        for i, part in enumerate(template.split("/"))
    )


def test_each_operation_route_matches_its_own_paths_and_no_other() -> None:
    probes = {"Health_Get", "Readiness_Get"}
    assert set(FAULT_ROUTES) == {o.operation_id for o in OPERATIONS.values()} - probes
    for key, operation in OPERATIONS.items():
        method, template = key.split(" ", 1)
        variants = [_sample(template), _sample(template) + "/", "/" + _sample(template)]
        if template.startswith("/v1/") and "/profiles/" not in template:
            variants.append(_sample(template, lower=True))
        for path in variants:
            seen = canonical_path(path)
            matching = {name for name, r in FAULT_ROUTES.items() if r.matches(method, seen)}
            wanted = set() if operation.operation_id in probes else {operation.operation_id}
            assert matching == wanted, (method, path)
            others = {n for n, r in FAULT_ROUTES.items() if r.matches("OPTIONS", seen)}
            assert others == set()
