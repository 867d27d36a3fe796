"""The delivery log's paged read: a registration's deliveries newest first, each with its
event and attempts; another partner's registration is missing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.receiver import receiver
from tests.support.world import World
from ztd.server.errors import NotFound
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks import history
from ztd.server.webhooks.delivery import Deliverer

REG = "/webhooks/v1/registration"


def test_deliveries_are_paged_newest_first_with_their_attempts(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    settings.webhook_allow_private = "loopback"
    settings.webhook_retry_seconds = [0]
    with receiver() as hook:
        registration = client.post(
            REG,
            json={"webhookUrl": hook.url, "webhookEvents": ["devicebatch.created"]},
            headers=world.auth(),
        ).json()
        sent = [
            client.post(
                f"{REG}/validationEvents",
                json={"registrationId": registration["id"]},
                headers=world.auth(),
            ).json()["eventIds"][0]
            for _ in range(3)
        ]
        hook.script = [500]
        assert Deliverer(db, settings).deliver_due() == 3
    with db.read() as conn:
        first = history.deliveries_page(conn, world.partner, registration["id"], size=2)
        assert [d["eventId"] for d in first["items"]] == sent[::-1][:2]
        assert first["next"] is not None
        rest = history.deliveries_page(
            conn, world.partner, registration["id"], before=first["next"], size=2
        )
        with pytest.raises(NotFound):
            history.deliveries_page(conn, world.other_partner, registration["id"])
    assert [d["eventId"] for d in rest["items"]] == sent[:1] and rest["next"] is None
    (oldest,) = rest["items"]
    assert oldest["type"] == "webhook.test" and oldest["createdTime"].endswith("Z")
    (attempt,) = oldest["attemptLog"]
    assert attempt["attempt"] == 1 and attempt["latencyMs"] >= 0
    # One attempt each (no retry): the receiver failed whichever came first, for good.
    outcomes = sorted(
        (d["attemptLog"][0]["statusCode"], d["status"]) for d in first["items"] + rest["items"]
    )
    assert outcomes == [(200, "delivered"), (200, "delivered"), (500, "failed")]
