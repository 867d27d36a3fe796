"""Setting the emulator's controls in API tests: the operator's headers, rules and faults."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.world import World, make_token
from ztd.server.auth.tokens import Role
from ztd.server.settings import Settings


def operator_auth(settings: Settings, world: World) -> dict[str, str]:
    return world.auth(make_token(settings, world.partner, roles=(Role.OPERATOR,)))


def add_rule(
    client: TestClient,
    op: dict[str, str],
    match: dict[str, Any],
    outcome: dict[str, Any],
    **scope: Any,
) -> str:
    """POST /_ztd/v1/rules; the new rule's id. ``scope``: customerId, partnerId, times."""
    response = client.post(
        "/_ztd/v1/rules", json={"match": match, "outcome": outcome, **scope}, headers=op
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def add_fault(client: TestClient, op: dict[str, str], **fault: Any) -> str:
    """POST /_ztd/v1/faults with ``fault`` as the body; the new fault's id."""
    response = client.post("/_ztd/v1/faults", json=fault, headers=op)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def refusal(client: TestClient, op: dict[str, str], control: str, body: Any) -> str:
    """The description of the 400 a control body gets (asserting it is one)."""
    response = client.post(f"/_ztd/v1/{control}", json=body, headers=op)
    assert response.status_code == 400, (body, response.text)
    description: str = response.json()["description"]
    return description
