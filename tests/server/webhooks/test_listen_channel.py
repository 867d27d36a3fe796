"""The listen channel `ztd listen` drains: events handed out once, signed; a channel nobody
polls any more (its CLI died) is removed by the deliverer."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.webhooks import REG, finish_a_job, subscribe
from tests.support.world import World
from ztd.client import verify_webhook
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import webhook_attempts, webhook_subscriptions
from ztd.server.webhooks import history, subscriptions
from ztd.server.webhooks.delivery import Deliverer


def test_a_listen_channel_hands_each_event_out_once_signed(
    client: TestClient, db: Database, world: World, worker: Worker
) -> None:
    created = subscribe(client, world, None)
    assert created["listen"] is True and "webhookUrl" not in created
    tracking = finish_a_job(client, world, worker, "drained", seed=8)
    polled = client.get(f"{REG}/{created['id']}/listen?wait=0", headers=world.auth())
    assert polled.status_code == 200, polled.text
    (item,) = polled.json()["items"]
    event = verify_webhook(item["payload"], item["headers"], created["secret"])
    assert event["data"]["trackingId"] == tracking
    again = client.get(f"{REG}/{created['id']}/listen?wait=0", headers=world.auth())
    assert again.json()["items"] == []
    bad = client.get(f"{REG}/{created['id']}/listen?wait=99", headers=world.auth())
    assert bad.status_code == 400 and "wait" in bad.json()["description"]


def test_a_channel_nobody_polls_is_removed_after_its_ttl(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    created = subscribe(client, world, None, "devicebatch.created")
    later = utc_now() + subscriptions.LISTEN_TTL + timedelta(seconds=5)
    Deliverer(db, settings, clock=lambda: utc_now()).deliver_due()  # within the TTL: kept
    with db.read() as conn:
        assert conn.execute(select(webhook_subscriptions.c.id)).scalars().all() == [created["id"]]
    Deliverer(db, settings, clock=lambda: later).deliver_due()
    with db.read() as conn:
        assert conn.execute(select(webhook_subscriptions.c.id)).scalars().all() == []
    gone = client.get(f"{REG}/{created['id']}", headers=world.auth())
    assert gone.status_code == 404


def test_the_log_is_purged_with_the_jobs_but_not_what_is_still_due(
    client: TestClient, db: Database, settings: Settings, world: World, worker: Worker
) -> None:
    created = subscribe(client, world, None)
    finish_a_job(client, world, worker, "kept", seed=9)
    later = utc_now() + timedelta(days=settings.job_retention_days + 1)
    with db.write() as conn:
        assert history.purge(conn, later) == 0  # still to be handed out: kept
    client.get(f"{REG}/{created['id']}/listen?wait=0", headers=world.auth())
    with db.write() as conn:
        assert history.purge(conn, utc_now() - timedelta(days=1)) == 0  # not old yet
        assert history.purge(conn, later) == 1
        assert conn.execute(select(webhook_attempts)).all() == []
