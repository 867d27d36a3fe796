"""GET /v1/customers (paged), GET /v1/customers/{id}, POST /v1/customers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_error
from tests.support.world import World


def test_list_and_get_only_own_customers(client: TestClient, world: World) -> None:
    body = client.get("/v1/customers", headers=world.auth()).json()
    ids = {c["id"] for c in body["items"]}
    assert ids == {world.customer, world.sibling_customer}
    assert body["attributes"] == {"objectType": "Collection"}
    one = client.get(f"/v1/customers/{world.customer}", headers=world.auth()).json()
    assert one["companyProfile"]["tenantId"] == world.customer
    assert one["companyProfile"]["companyName"] == "Contoso"
    assert one["attributes"] == {"objectType": "Customer"}
    assert_error(
        client.get(f"/v1/customers/{world.other_customer}", headers=world.auth()), 404, "60003"
    )


def test_create_customer_then_page_through(client: TestClient, world: World) -> None:
    created = client.post(
        "/v1/customers",
        json={
            "CompanyProfile": {"Domain": "wingtip.onmicrosoft.com"},
            "BillingProfile": {"CompanyName": "Wingtip Toys", "Email": "a@wingtip.example"},
        },
        headers=world.auth(),
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["companyProfile"]["domain"] == "wingtip.onmicrosoft.com"
    assert customer["companyProfile"]["companyName"] == "Wingtip Toys"
    seen: list[str] = []
    headers = world.auth()
    while True:
        page = client.get("/v1/customers?size=1", headers=headers).json()
        assert len(page["items"]) <= 1
        seen += [c["id"] for c in page["items"]]
        if "continuationToken" not in page:
            break
        headers = {**world.auth(), "MS-ContinuationToken": page["continuationToken"]}
    assert sorted(seen) == sorted([world.customer, world.sibling_customer, customer["id"]])
    # The other partner does not see it.
    theirs = client.get("/v1/customers", headers=world.auth(world.other_token)).json()
    assert customer["id"] not in {c["id"] for c in theirs["items"]}


def test_create_customer_needs_a_name(client: TestClient, world: World) -> None:
    response = client.post("/v1/customers", json={"companyProfile": {}}, headers=world.auth())
    assert_error(response, 400, "800002")


def test_bad_page_size(client: TestClient, world: World) -> None:
    assert_error(client.get("/v1/customers?size=0", headers=world.auth()), 400, "800002")


def test_over_long_names_are_400_not_database_errors(client: TestClient, world: World) -> None:
    response = client.post(
        "/v1/customers", json={"billingProfile": {"companyName": "x" * 300}}, headers=world.auth()
    )
    assert "at most 256" in assert_error(response, 400, "800002")["description"]
    policy = client.post(
        f"/v1/customers/{world.customer}/policies", json={"name": "p" * 300}, headers=world.auth()
    )
    assert "at most 256" in assert_error(policy, 400, "800002")["description"]


@pytest.mark.parametrize(
    ("name", "code_point"),
    [
        ("Esc\x1b[31mRED\x1b[0m", "U+001B at character 4"),  # recolours a terminal
        ("Contoso\u200bLtd", "U+200B at character 8"),  # looks like "ContosoLtd"
        ("Two\nlines", "U+000A at character 4"),
        ("Tab\there", "U+0009 at character 4"),
        ("\u202eevil", "U+202E at character 1"),  # right-to-left override
    ],
)
def test_control_and_invisible_characters_in_a_name_are_refused(
    client: TestClient, world: World, name: str, code_point: str
) -> None:
    created = client.post(
        "/v1/customers", json={"billingProfile": {"companyName": name}}, headers=world.auth()
    )
    assert created.status_code == 400, created.text
    description = created.json()["description"]
    assert description.startswith("companyName: a name must not hold control or invisible")
    assert code_point in description
    listed = client.get("/v1/customers", headers=world.auth()).json()["items"]
    assert all(name != c["companyProfile"]["companyName"] for c in listed)  # nothing written
