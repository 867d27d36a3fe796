"""Input that used to give a 500 (found in review) gets a precise 400, on both databases:
digits that are not ASCII, overlong numbers, NUL characters PostgreSQL cannot store, names
that cannot be addressed again, blank names, an overlong MS-RequestId."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from tests.support.api import assert_error, create_batch, hash_device
from tests.support.world import World


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_page_sizes_and_continuation_tokens(client: TestClient, world: World) -> None:
    for size in ("²", "1" * 5000, "0", "501"):
        response = client.get("/v1/customers", params={"size": size}, headers=world.auth())
        assert "size must be a whole number" in assert_error(response, 400, "800002")["description"]
    create_batch(client, world.customer, world.auth(), "b", [hash_device(1)])
    devices_url = f"/v1/customers/{world.customer}/deviceBatches/b/devices"
    for position in ("²", "9" * 20, "-1"):
        headers = {**world.auth(), "MS-ContinuationToken": _token(f"d:{position}")}
        assert_error(client.get(devices_url, headers=headers), 400, "800002")
    headers = {**world.auth(), "MS-ContinuationToken": _token("c:a\x00b")}
    assert_error(client.get("/v1/customers", headers=headers), 400, "800002")


def test_blank_customer_names_count_as_absent(client: TestClient, world: World) -> None:
    blank = {"billingProfile": {"companyName": "   "}}
    response = client.post("/v1/customers", json=blank, headers=world.auth())
    assert (
        "companyName or companyProfile.domain"
        in assert_error(response, 400, "800002")["description"]
    )
    named_by_domain = {**blank, "companyProfile": {"domain": "contoso.example"}}
    created = client.post("/v1/customers", json=named_by_domain, headers=world.auth())
    assert created.status_code == 201, created.text
    assert created.json()["companyProfile"]["companyName"] == "contoso.example"


@pytest.mark.parametrize(
    ("batch_id", "says"),
    [
        ("lab/floor-2", "contains '/'"),
        ("ß" * 200, "at most 256"),  # 200 characters, 400 once casefolded
        ("tab\there", "control characters"),
    ],
)
def test_batch_names_that_could_not_be_used_again(
    client: TestClient, world: World, batch_id: str, says: str
) -> None:
    body = {"batchId": batch_id, "devices": [hash_device(1)]}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    response = client.post(url, json=body, headers=world.auth())
    assert says in assert_error(response, 400, "800002")["description"]


def test_nul_characters_are_refused_where_they_enter(client: TestClient, world: World) -> None:
    url = f"/v1/customers/{world.customer}"
    nul = "contains a NUL character"
    cases: list[tuple[str, str, Any, str]] = [
        (
            "POST",
            f"{url}/deviceBatches",
            {"batchId": "b", "devices": [{"serialNumber": "A\x00B"}]},
            f"devices[0].serialNumber: {nul}",
        ),
        (
            "POST",
            f"{url}/deviceBatches",
            {"batchId": "b\x00", "devices": [hash_device(1)]},
            "contains control characters",
        ),
        ("POST", f"{url}/policies", {"name": "P\x00"}, f"name {nul}"),
        ("POST", "/v1/customers", {"companyProfile": {"domain": "a\x00.example"}}, nul),
        (
            "PATCH",
            f"{url}/DevicePolicyUpdates",
            {"devices": [{"id": "d\x00", "policies": [{"key": "o_o_b_e", "value": "p"}]}]},
            f"devices[0].id: {nul}",
        ),
    ]
    for method, path, body, says in cases:
        response = client.request(method, path, json=body, headers=world.auth())
        assert says in assert_error(response, 400, "800002")["description"], (path, body)
    escaped = client.get(f"{url}/deviceBatches/b%00/devices", headers=world.auth())
    assert "NUL" in assert_error(escaped, 400, "800002")["description"]


def test_an_overlong_request_id_is_refused(client: TestClient, world: World) -> None:
    headers = {**world.auth(), "MS-RequestId": "r" * 129}
    body = {"batchId": "b", "devices": [hash_device(1)]}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    response = client.post(url, json=body, headers=headers)
    assert "MS-RequestId is 129 characters" in assert_error(response, 400, "800002")["description"]


def test_readiness_does_not_show_the_database_error(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = client.app.state.ztd.db  # type: ignore[attr-defined]

    def unreachable() -> Any:
        raise OperationalError("SELECT 1", {}, Exception("host=db.internal user=ztd refused"))

    monkeypatch.setattr(db, "read", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "db.internal" not in response.text and "not reachable" in response.text
