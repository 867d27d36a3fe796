"""A customer is one customer to the emulator's controls however a client spells its id:
the API reads braced, upper-case and unhyphenated GUIDs as the same customer, so throttling
buckets and customer-scoped faults (and the journal, through the same key) must as well; a
control body naming a tenant that is no GUID is refused, naming the field."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.support.emulator import add_fault, operator_auth, refusal
from tests.support.world import World
from ztd.server.settings import Settings


def spellings(guid: str) -> list[str]:
    """The ways a client may write ``guid`` that the API accepts as that GUID."""
    return [
        guid.upper(),
        "{" + guid + "}",
        "%7B" + guid.upper() + "%7D",
        guid.replace("-", ""),
    ]


@pytest.mark.parametrize("spelled", range(4))
def test_every_spelling_of_a_customer_counts_in_its_one_throttle_bucket(
    client: TestClient, world: World, settings: Settings, spelled: int
) -> None:
    op = operator_auth(settings, world)
    body = {"customer": {"requests": 2, "perSeconds": 60}, "rateLimitHeaders": True}
    assert client.put("/_ztd/v1/throttling", json=body, headers=op).status_code == 200
    plain = f"/v1/customers/{world.customer}/deviceBatches"
    other = f"/v1/customers/{spellings(world.customer)[spelled]}/deviceBatches"
    assert client.get(plain, headers=world.auth()).status_code == 200
    assert client.get(other, headers=world.auth()).status_code == 200
    refused = client.get(other, headers=world.auth())
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    # The RateLimit-* headers the 200s carry are on the 429 as well.
    assert refused.headers["RateLimit-Limit"] == "2"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert client.get(plain, headers=world.auth()).status_code == 429
    buckets = client.get("/_ztd/v1/throttling", headers=op).json()
    customers = {b.get("customerId") for b in buckets.get("buckets", []) if b.get("customerId")}
    assert customers <= {world.customer}, buckets


@pytest.mark.parametrize("spelled", range(4))
def test_a_fault_for_a_customer_answers_every_spelling_of_it(
    client: TestClient, world: World, settings: Settings, spelled: int
) -> None:
    op = operator_auth(settings, world)
    add_fault(
        client,
        op,
        customerId=spellings(world.customer)[spelled].replace("%7B", "{").replace("%7D", "}"),
        status=503,
    )
    for written in [world.customer, *spellings(world.customer)]:
        answer = client.get(f"/v1/customers/{written}/deviceBatches", headers=world.auth())
        assert answer.status_code == 503, written


@pytest.mark.parametrize("control", ["rules", "faults", "reset"])
@pytest.mark.parametrize("field", ["customerId", "partnerId"])
@pytest.mark.parametrize("value", ["nope", "1234", "", "g" * 36])
def test_a_control_naming_a_tenant_that_is_no_guid_is_refused(
    client: TestClient, world: World, settings: Settings, control: str, field: str, value: str
) -> None:
    op = operator_auth(settings, world)
    body = {
        "rules": {"match": {"serialNumber": "*"}, "outcome": {"errorCode": "808"}},
        "faults": {"status": 503},
        "reset": {},
    }[control] | {field: value}
    said = refusal(client, op, control, body)
    assert field in said and "GUID" in said, said


def test_a_rule_scoped_to_a_braced_customer_is_stored_canonical(
    client: TestClient, world: World, settings: Settings
) -> None:
    op = operator_auth(settings, world)
    partner = str(uuid.UUID(world.partner)).upper()
    body = {
        "match": {"serialNumber": "LAB-*"},
        "outcome": {"errorCode": "808"},
        "customerId": "{" + world.customer.upper() + "}",
        "partnerId": partner,
    }
    assert client.post("/_ztd/v1/rules", json=body, headers=op).status_code == 201
    listed = client.get(
        "/_ztd/v1/rules", params={"customerId": world.customer.upper()}, headers=op
    ).json()
    assert [(r["customerId"], r["partnerId"]) for r in listed] == [(world.customer, world.partner)]
