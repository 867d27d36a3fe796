"""Roles as Partner Center documents them (a Sales agent reads only; creating a batch is for
App+User tokens only) and client credentials."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import assert_error, create_batch, hash_device, status_of
from tests.support.world import World, make_token
from ztd.server.auth.tokens import Role
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.services.applications import add_application
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


def test_sales_agent_reads_status_but_cannot_create(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    tracking = create_batch(client, world.customer, world.auth(), "b", [hash_device(1)])
    worker.run_until_idle()
    sales = make_token(settings, world.partner, roles=(Role.SALES_AGENT,))
    assert status_of(client, world.customer, tracking, world.auth(sales))["status"] == "finished"
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "c", "devices": [hash_device(2)]},
        headers=world.auth(sales),
    )
    assert_error(response, 403, "900150")
    added = client.post(
        f"/v1/customers/{world.customer}/deviceBatches/b/devices",
        json=[hash_device(3)],
        headers=world.auth(sales),
    )
    assert_error(added, 403, "900150")


def test_global_admin_may_write(client: TestClient, world: World, settings: Settings) -> None:
    admin = make_token(settings, world.partner, roles=(Role.GLOBAL_ADMIN,))
    create_batch(client, world.customer, world.auth(admin), "g", [hash_device(1)])


def test_app_only_reads_and_is_refused_on_create_unless_allowed(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    app_token = make_token(settings, world.partner, app_only=True)
    body = {"batchId": "app", "devices": [hash_device(1)]}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    assert client.get(url, headers=world.auth(app_token)).status_code == 200
    assert_error(client.post(url, json=body, headers=world.auth(app_token)), 403, "900150")
    settings.allow_app_only_batch_create = True
    tracking = create_batch(client, world.customer, world.auth(app_token), "app", body["devices"])
    # App-only tokens may add devices to an existing batch (E2) without the setting.
    settings.allow_app_only_batch_create = False
    added = client.post(f"{url}/app/devices", json=[hash_device(2)], headers=world.auth(app_token))
    assert added.status_code == 202
    worker.run_until_idle()
    assert (
        status_of(client, world.customer, tracking, world.auth(app_token))["status"] == "finished"
    )


def test_client_credentials_work_end_to_end(
    client: TestClient, world: World, db: Database, settings: Settings, worker: Worker
) -> None:
    with db.write() as conn:
        client_id, secret = add_application(conn, world.partner, "rmm", utc_now())
    wrong = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    response = client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "https://api.partnercenter.microsoft.com/.default",
        },
    )
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["token_type"] == "Bearer" and grant["expires_in"] > 0
    token = grant["access_token"]
    settings.allow_app_only_batch_create = True
    tracking = create_batch(client, world.customer, world.auth(token), "cc", [hash_device(5)])
    worker.run_until_idle()
    assert status_of(client, world.customer, tracking, world.auth(token))["status"] == "finished"
    # The app's token is bound to its partner: another partner's customer is invisible.
    foreign = client.get(
        f"/v1/customers/{world.other_customer}/deviceBatches", headers=world.auth(token)
    )
    assert_error(foreign, 404, "60003")


def test_token_endpoint_refuses_other_grants(client: TestClient) -> None:
    response = client.post("/oauth2/token", data={"grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
