"""Registration bodies: each wrong one is refused with a description naming the problem;
the secret is shown on creation and rotation only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.world import World
from ztd.server.settings import Settings

REG = "/webhooks/v1/registration"
EVENTS = ["devicebatch.job.completed"]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "must be a WebhookRegistration object"),
        ({"webhookUrl": "https://h.example.com/x"}, "webhookEvents must be a non-empty array"),
        ({"webhookUrl": "https://h.example.com/x", "webhookEvents": []}, "non-empty"),
        ({"webhookUrl": "https://h.example.com/x", "webhookEvents": ["nope"]}, "Unknown event"),
        ({"webhookUrl": "https://h.example.com/x", "webhookEvents": [3]}, "Unknown event"),
        ({"webhookEvents": EVENTS}, "webhookUrl is required"),
        ({"webhookUrl": 5, "webhookEvents": EVENTS}, "webhookUrl is required"),
        ({"listen": "yes", "webhookEvents": EVENTS}, "listen must be true or false"),
        ({"listen": True, "webhookUrl": "https://x", "webhookEvents": EVENTS}, "has no webhookUrl"),
        ({"webhookUrl": "ftp://h.example.com/x", "webhookEvents": EVENTS}, "http:// or https://"),
    ],
)
def test_a_wrong_registration_is_refused_saying_what_is_wrong(
    client: TestClient, world: World, backend: str, body: Any, says: str
) -> None:
    response = client.post(REG, json=body, headers=world.auth())
    assert response.status_code == 400, response.text
    assert says in response.json()["description"]
    assert client.get(REG, headers=world.auth()).json()["items"] == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_secret_is_shown_once_and_property_names_match_in_any_case(
    client: TestClient, settings: Settings, world: World, backend: str
) -> None:
    client.app.state.webhook_resolver = lambda _h, _p: ["93.184.216.34"]  # type: ignore[attr-defined]
    created = client.post(
        REG,
        json={"WebhookUrl": "https://h.example.com/x", "WebhookEvents": EVENTS * 2},
        headers=world.auth(),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["webhookEvents"] == EVENTS and body["status"] == "active"
    shown = client.get(f"{REG}/{body['id']}", headers=world.auth()).json()
    listed = client.get(REG, headers=world.auth()).json()["items"]
    assert "secret" not in shown and all("secret" not in item for item in listed)
    assert body["secret"] not in str(listed) + str(shown)
    for overlap in (-1, 604801, 10**30, 1e308):  # 10**30 once overflowed timedelta: a 500
        bad = client.post(
            f"{REG}/{body['id']}/rotateSecret",
            json={"overlapSeconds": overlap},
            headers=world.auth(),
        )
        assert bad.status_code == 400, (overlap, bad.text)
        assert "overlapSeconds must be from 0" in bad.json()["description"]
    removed = client.delete(f"{REG}/{body['id']}", headers=world.auth())
    assert removed.status_code == 204
    assert client.get(f"{REG}/{body['id']}", headers=world.auth()).status_code == 404
