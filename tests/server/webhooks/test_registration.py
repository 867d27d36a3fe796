"""Registration bodies: each wrong one is refused with a description naming the problem;
the secret is shown on creation and rotation only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.world import World, make_token
from ztd.server.auth.tokens import Role
from ztd.server.clock import utc_now
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks import subscriptions

REG = "/webhooks/v1/registration"
EVENTS = ["devicebatch.job.completed"]


URL = "https://h.example.com/x"
KNOWN = "known: devicebatch.job.completed, devicepolicy.job.completed, devicebatch.created"


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (
            [],
            ['body: expected an object {"webhookUrl": ..., "webhookEvents": [...]}, got an array'],
        ),
        (
            {"webhookUrl": URL},
            ["webhookEvents: missing; name the event types wanted, from: devicebatch"],
        ),
        ({"webhookUrl": URL, "webhookEvents": []}, ["webhookEvents: empty; name at least one of:"]),
        (
            {"webhookUrl": URL, "webhookEvents": "devicebatch.created"},
            ["webhookEvents: expected an array of event types, got 'devicebatch.created'"],
        ),
        (
            {"webhookUrl": URL, "webhookEvents": ["nope"]},
            [f"webhookEvents[0]: unknown event type 'nope'; {KNOWN}"],
        ),
        (
            {"webhookUrl": URL, "webhookEvents": [None]},
            ["webhookEvents[0]: null; expected an event type, one of: devicebatch"],
        ),
        (
            {"webhookUrl": URL, "webhookEvents": [*EVENTS, 3]},
            ["webhookEvents[1]: not a string but 3; expected an event type"],
        ),
        (
            {"webhookEvents": EVENTS},
            ["webhookUrl: missing; expected the http(s):// URL to deliver events to"],
        ),
        (
            {"webhookUrl": None, "webhookEvents": EVENTS},
            ["webhookUrl: null; expected the http(s)://"],
        ),
        (
            {"webhookUrl": 5, "webhookEvents": EVENTS},
            ["webhookUrl: expected a string, the http(s):// URL to deliver events to, got 5"],
        ),
        (
            {"webhookUrl": "   ", "webhookEvents": EVENTS},
            ["webhookUrl: empty; expected the http(s)://"],
        ),
        ({"listen": "yes", "webhookEvents": EVENTS}, ["listen: expected true or false, got 'yes'"]),
        (
            {"listen": True, "webhookUrl": URL, "webhookEvents": EVENTS},
            ["webhookUrl: a listen registration has none; send one or the other"],
        ),
        (
            {"webhookUrl": "ftp://h.example.com/x", "webhookEvents": EVENTS},
            ["webhookUrl: has the scheme 'ftp'; use an http:// or https:// URL."],
        ),
        (
            {"webhookUrl": "https://h.example.com/a b", "webhookEvents": EVENTS},
            ["webhookUrl: has a space or control character at position 24"],
        ),
        ({}, ["webhookEvents: missing", "webhookUrl: missing"]),  # every missing field named
        (
            {"webhookUrl": 5, "webhookEvents": [None, "x"]},
            [
                "webhookEvents[0]: null",
                "webhookEvents[1]: unknown event type 'x'",
                "webhookUrl: expected a string",
            ],
        ),
    ],
)
def test_a_wrong_registration_is_refused_naming_every_problem_in_data(
    client: TestClient, world: World, backend: str, body: Any, problems: list[str]
) -> None:
    """Each problem is one ``data`` entry ("where: why", as every 400 of ztd), and the
    description lists them once, without repeating the field's name."""
    response = client.post(REG, json=body, headers=world.auth())
    assert response.status_code == 400, response.text
    error = response.json()
    assert len(error["data"]) == len(problems), error["data"]
    for said, expected in zip(error["data"], problems, strict=True):
        assert said.startswith(expected), (said, expected)
        field = said.split(":")[0].split("[")[0]
        assert said.count(field) == 1 or field == "body", said
    assert error["description"] == "Invalid WebhookRegistration: " + "; ".join(error["data"])
    assert "None" not in error["description"]  # no Python spelling leaks
    assert client.get(REG, headers=world.auth()).json()["items"] == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_event_types_match_in_any_case_and_the_url_is_trimmed(
    client: TestClient, world: World, backend: str
) -> None:
    """README: enum values are read in any spelling; they are stored as the catalogue
    spells them. Spaces pasted around the URL are no part of it."""
    client.app.state.webhook_resolver = lambda _h, _p: ["93.184.216.34"]  # type: ignore[attr-defined]
    created = client.post(
        REG,
        json={
            "webhookUrl": "  https://h.example.com/x\n",
            "webhookEvents": [
                "DeviceBatch.Job.Completed",
                "DEVICEBATCH.CREATED",
                "devicebatch.created",
            ],
        },
        headers=world.auth(),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["webhookUrl"] == "https://h.example.com/x"
    assert body["webhookEvents"] == ["devicebatch.job.completed", "devicebatch.created"]
    shown = client.get(f"{REG}/{body['id']}", headers=world.auth()).json()
    assert shown["webhookUrl"] == "https://h.example.com/x"


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


PUBLIC_URL = "https://93.184.216.34/hook"  # an IP literal: no DNS


def _post(client: TestClient, world: World, url: str | None, token: str | None = None) -> Any:
    target: dict[str, Any] = {"webhookUrl": url} if url else {"listen": True}
    return client.post(REG, json={**target, "webhookEvents": EVENTS}, headers=world.auth(token))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_endpoints_and_listen_channels_have_their_own_limits(
    client: TestClient, db: Database, world: World, backend: str
) -> None:
    """Disabled endpoints keep their place (PUT re-enables them) and the 409 says how many
    there are and what to do; they never block a `ztd listen`, whose channels count apart."""
    ids = [
        _post(client, world, f"{PUBLIC_URL}/{i}").json()["id"]
        for i in range(subscriptions.MAX_REGISTRATIONS)
    ]
    with db.write() as conn:
        for registration in ids[:3]:
            subscriptions.disable(conn, registration, "The endpoint answered 410 Gone.", utc_now())
    full = _post(client, world, f"{PUBLIC_URL}/more")
    assert full.status_code == 409, full.text
    said = full.json()["description"]
    assert "may hold 20 webhook endpoints and holds 20 (3 of them disabled" in said
    assert "PUT /webhooks/v1/registration/{id}" in said
    assert "DELETE /webhooks/v1/registration/{id} removes one" in said
    channels = [_post(client, world, None) for _ in range(subscriptions.MAX_LISTEN_CHANNELS)]
    assert [c.status_code for c in channels] == [201] * subscriptions.MAX_LISTEN_CHANNELS
    one_more = _post(client, world, None)
    assert one_more.status_code == 409
    assert "10 listen channels at once and holds 10" in one_more.json()["description"]
    # The other partner's room is its own.
    assert _post(client, world, PUBLIC_URL, world.other_token).status_code == 201


@pytest.mark.parametrize("backend", ["sqlite"])
def test_partner_centers_put_without_an_id_needs_exactly_one_endpoint(
    client: TestClient, world: World, backend: str
) -> None:
    body = {"webhookUrl": f"{PUBLIC_URL}/new", "webhookEvents": ["DeviceBatch.Created"]}
    none = client.put(REG, json=body, headers=world.auth())
    assert none.status_code == 404 and "create one with POST" in none.json()["description"]
    first = _post(client, world, PUBLIC_URL).json()
    _post(client, world, None)  # a listen channel is no endpoint: still exactly one
    updated = client.put(REG, json=body, headers=world.auth())
    assert updated.status_code == 200, updated.text
    shown = updated.json()
    assert shown["id"] == first["id"] and shown["webhookUrl"] == f"{PUBLIC_URL}/new"
    assert shown["webhookEvents"] == ["devicebatch.created"] and "secret" not in shown
    second = _post(client, world, PUBLIC_URL).json()
    several = client.put(REG, json=body, headers=world.auth())
    assert several.status_code == 409
    said = several.json()["description"]
    assert "holds 2 webhook endpoints" in said and "PUT /webhooks/v1/registration/{id}" in said
    assert first["id"] in said and second["id"] in said


@pytest.mark.parametrize("backend", ["sqlite"])
def test_put_is_validated_as_registration_and_refused_to_readers_and_on_listen_channels(
    client: TestClient, settings: Settings, world: World, backend: str
) -> None:
    created = _post(client, world, PUBLIC_URL).json()
    path = f"{REG}/{created['id']}"
    settings.webhook_allow_private = "false"
    private = client.put(
        path,
        json={"webhookUrl": "http://[::ffff:10.0.0.1]/x", "webhookEvents": EVENTS},
        headers=world.auth(),
    )
    assert private.status_code == 400
    assert private.json()["data"] == [
        "webhookUrl: ::ffff:a00:1 is not a public unicast address: private (IPv4-mapped form "
        "of 10.0.0.1); ZTD_WEBHOOK_ALLOW_PRIVATE=false refuses it."
    ]
    bad = client.put(path, json={"webhookEvents": [None]}, headers=world.auth())
    assert bad.status_code == 400
    assert [p.split(":")[0] for p in bad.json()["data"]] == ["webhookEvents[0]", "webhookUrl"]
    reader = world.auth(make_token(settings, world.partner, roles=(Role.SALES_AGENT,)))
    body = {"webhookUrl": PUBLIC_URL, "webhookEvents": EVENTS}
    assert client.put(path, json=body, headers=reader).status_code == 403
    assert client.put(REG, json=body, headers=reader).status_code == 403
    assert client.get(path, headers=reader).status_code == 200  # reading stays allowed
    channel = _post(client, world, None).json()
    on_channel = client.put(f"{REG}/{channel['id']}", json=body, headers=world.auth())
    assert on_channel.status_code == 409 and "listen channel" in on_channel.json()["description"]
    foreign = client.put(path, json=body, headers=world.auth(world.other_token))
    assert foreign.status_code == 404
    assert client.get(path, headers=world.auth()).json()["webhookUrl"] == PUBLIC_URL
