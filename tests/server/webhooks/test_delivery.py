"""Delivery: an upload's event reaches a real local endpoint, signed; retries follow the
schedule (time injected); 410 and days of failure disable the endpoint; rotation, replay."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from standardwebhooks import Webhook, WebhookVerificationError

from tests.support.api import create_batch, hash_device, status_of
from tests.support.receiver import Receiver
from tests.support.webhooks import REG, FakeClock, Webhooks, subscribe
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, webhook_deliveries
from ztd.server.webhooks import events


@pytest.mark.timing
def test_an_upload_reaches_the_endpoint_signed_within_a_second_with_the_status_counts(
    db: Database, loopback: Settings, world: World, hook: Receiver
) -> None:
    app = create_app(loopback, db=db, embedded_worker=True)
    with TestClient(app) as client:
        registration = subscribe(client, world, hook.url)
        sent = [hash_device(1), hash_device(2), hash_device(1), {"SerialNumber": "ONLY-SERIAL"}]
        tracking = create_batch(client, world.customer, world.auth(), "hooked", sent)
        (got,) = hook.wait_for(1)
        status = status_of(client, world.customer, tracking, world.auth())
    payload = Webhook(registration["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "devicebatch.job.completed"
    data = payload["data"]
    assert data["trackingId"] == tracking and data["batchId"] == "hooked"
    assert data["customerId"] == world.customer
    assert data["statusUrl"] == f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
    assert data["completedTime"] == status["completedTime"]
    entries = status["devicesStatus"]
    failed = [
        e.get("errorCode") or e["errorDescription"] for e in entries if e.get("errorDescription")
    ]
    assert failed  # the duplicate, at least
    assert data["outcomes"] == {
        "succeeded": len(entries) - len(failed),
        "failed": len(failed),
        "byErrorCode": {code: failed.count(code) for code in sorted(set(failed))},
    }
    completed = datetime.fromisoformat(status["completedTime"].replace("Z", "+00:00"))
    late = got.at - completed.timestamp()
    assert late < 1.0, f"job.completed arrived {late:.2f} s after the job completed"
    with db.read() as conn:  # one event, one delivery, delivered
        rows = conn.execute(select(webhook_deliveries.c.status)).scalars().all()
    assert rows == ["delivered"]


def test_a_receiver_down_for_three_attempts_gets_the_fourth_on_schedule(webhooks: Webhooks) -> None:
    registration, hook = webhooks.subscribe(), webhooks.hook
    clock = FakeClock(utc_now())
    webhooks.finish_a_job("retried", worker=Worker(webhooks.db, webhooks.settings, clock=clock))
    hook.script = [500, 503, 599]
    deliverer = webhooks.deliverer(clock)
    # (delay since the previous failure, attempts expected then): 0 s, 5 s, 5 min, 30 min.
    for wait, before in ((0, 0), (5, 0), (300, 0), (1800, 0)):
        clock.advance(seconds=wait - 0.5)
        assert deliverer.deliver_due() == before, f"attempted early, before {wait} s"
        clock.advance(seconds=0.5)
        assert deliverer.deliver_due() == 1
    assert deliverer.deliver_due() == 0  # delivered: nothing more
    assert [r.headers["webhook-id"] for r in hook.received] == [
        hook.received[0].headers["webhook-id"]
    ] * 4
    log = webhooks.attempts(registration)
    assert [a["statusCode"] for a in log] == [200, 599, 503, 500]
    assert [a["attempt"] for a in log] == [4, 3, 2, 1]
    for got in hook.received:  # each attempt signed at its own time, and verifiable then
        assert got.headers["webhook-timestamp"].isdigit()


def test_410_disables_the_endpoint_visibly_and_later_events_are_not_queued(
    webhooks: Webhooks,
) -> None:
    registration = webhooks.subscribe()
    webhooks.finish_a_job("gone")
    webhooks.hook.script = [410]
    assert webhooks.deliverer().deliver_due() == 1
    shown = webhooks.shown(registration)
    assert shown["status"] == "disabled" and "410" in shown["disabledReason"]
    assert [a["statusCode"] for a in webhooks.attempts(registration)] == [410]
    webhooks.finish_a_job("after")
    with webhooks.db.read() as conn:
        assert conn.execute(select(webhook_deliveries.c.status)).scalars().all() == ["failed"]


def test_an_endpoint_failing_for_days_is_disabled_with_the_reason(webhooks: Webhooks) -> None:
    webhooks.settings.webhook_disable_after_days = 1
    webhooks.settings.webhook_retry_seconds = [0, 13 * 3600, 13 * 3600]
    registration = webhooks.subscribe()
    webhooks.finish_a_job("failing")
    webhooks.hook.script = [500, 500, 500]
    clock = FakeClock(utc_now() + timedelta(seconds=1))
    deliverer = webhooks.deliverer(clock)
    assert deliverer.deliver_due() == 1
    clock.advance(hours=13)
    assert deliverer.deliver_due() == 1
    assert webhooks.shown(registration)["status"] == "active"  # 13 h of failure: not yet
    clock.advance(hours=13)
    assert deliverer.deliver_due() == 1
    shown = webhooks.shown(registration)
    assert shown["status"] == "disabled"
    assert "failed for 1 days" in shown["disabledReason"] and "HTTP 500" in shown["disabledReason"]


def test_a_rotated_secret_signs_beside_the_old_one_for_the_overlap_only(webhooks: Webhooks) -> None:
    registration, hook = webhooks.subscribe(), webhooks.hook
    rotated = webhooks.client.post(
        f"{REG}/{registration['id']}/rotateSecret",
        json={"overlapSeconds": 60},
        headers=webhooks.world.auth(),
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != registration["secret"]
    webhooks.finish_a_job("rotated")
    webhooks.finish_a_job("rotated-later")
    clock = FakeClock(utc_now() + timedelta(seconds=1))
    deliverer = webhooks.deliverer(clock)
    with webhooks.db.write() as conn:  # the second event becomes due only after the overlap
        conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.pk == 2)
            .values(next_attempt_at=clock.now + timedelta(seconds=120))
        )
    assert deliverer.deliver_due() == 1
    first = hook.received[0]
    assert len(first.headers["webhook-signature"].split()) == 2
    for secret in (registration["secret"], new_secret):
        Webhook(secret).verify(first.body, first.headers)  # still valid for either
    clock.advance(seconds=121)
    assert deliverer.deliver_due() == 1
    second = hook.received[1]
    assert len(second.headers["webhook-signature"].split()) == 1
    Webhook(new_secret).verify(second.body, second.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(registration["secret"]).verify(second.body, second.headers)


def test_replay_sends_an_event_again_with_its_id_and_failed_ones_since_a_time(
    webhooks: Webhooks,
) -> None:
    client, world, hook = webhooks.client, webhooks.world, webhooks.hook
    webhooks.settings.webhook_retry_seconds = [0]  # one attempt, then failed
    registration = webhooks.subscribe()
    webhooks.finish_a_job("replayed")
    hook.script = [500]
    deliverer = webhooks.deliverer()
    assert deliverer.deliver_due() == 1
    event_id = hook.received[0].headers["webhook-id"]
    shown = client.get(f"/webhooks/v1/events/{event_id}", headers=world.auth()).json()
    assert shown["deliveries"][0]["status"] == "failed"
    assert [a["statusCode"] for a in shown["attempts"]] == [500]
    replay = client.post(
        f"{REG}/{registration['id']}/replay",
        json={"failedSince": "2000-01-01T00:00:00Z"},
        headers=world.auth(),
    )
    assert replay.json()["queued"] == 1
    assert deliverer.deliver_due() == 1
    again = client.post(f"/webhooks/v1/events/{event_id}/replay", headers=world.auth())
    assert again.json()["queued"] == 1
    assert deliverer.deliver_due() == 1
    assert [r.headers["webhook-id"] for r in hook.received] == [event_id] * 3
    assert [r.body for r in hook.received] == [hook.received[0].body] * 3


def test_a_test_event_and_the_event_types(webhooks: Webhooks) -> None:
    client, world, hook = webhooks.client, webhooks.world, webhooks.hook
    registration = webhooks.subscribe()
    types = client.get(f"{REG}/events", headers=world.auth()).json()
    assert "devicebatch.job.completed" in types and "devicebatch.created" in types
    sent = client.post(f"{REG}/validationEvents", headers=world.auth())
    assert sent.status_code == 200, sent.text
    assert webhooks.deliverer().deliver_due() == 1
    payload = Webhook(registration["secret"]).verify(
        hook.received[0].body, hook.received[0].headers
    )
    assert payload["type"] == "webhook.test"
    assert payload["data"]["registrationId"] == registration["id"]


def test_a_created_batch_is_an_event_with_the_request_correlation_id(webhooks: Webhooks) -> None:
    world = webhooks.world
    webhooks.subscribe("devicebatch.created")
    response = webhooks.client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": "announced", "Devices": [hash_device(3)]},
        headers={**world.auth(), "MS-CorrelationId": "corr-123"},
    )
    assert response.status_code == 202
    assert webhooks.deliverer().deliver_due() == 1
    data = __import__("orjson").loads(webhooks.hook.received[0].body)["data"]
    assert data["batchId"] == "announced" and data["correlationId"] == "corr-123"


@pytest.mark.parametrize("subscribed", [False, True])
def test_a_finished_job_costs_one_query_when_nobody_listens(
    client: TestClient, db: Database, loopback: Settings, world: World, subscribed: bool
) -> None:
    if subscribed:  # another partner's subscription changes nothing for this one
        other = World(**{**world.__dict__, "token": world.other_token})
        subscribe(client, other, "http://127.0.0.1:9/hook")
    tracking = create_batch(client, world.customer, world.auth(), "quiet", [hash_device(5)])
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    with db.write() as conn:
        event.listen(conn, "before_cursor_execute", count)
        events.job_finished(conn, tracking, utc_now())
        event.remove(conn, "before_cursor_execute", count)
        assert conn.execute(select(batch_jobs.c.id)).scalars().all() == [tracking]
    assert len(statements) == 1


def test_a_policy_update_job_is_its_own_event_with_its_counts(webhooks: Webhooks) -> None:
    client, world, hook = webhooks.client, webhooks.world, webhooks.hook
    registration = webhooks.subscribe("devicepolicy.job.completed")
    webhooks.finish_a_job("uploads-are-not-subscribed")
    policy = client.post(
        f"/v1/customers/{world.customer}/policies",
        json={"name": "p", "policySettings": ["skip_eula"]},
        headers=world.auth(),
    ).json()
    response = client.patch(
        f"/v1/customers/{world.customer}/DevicePolicyUpdates",
        json={
            "devices": [
                {"id": str(uuid.uuid4()), "policies": [{"key": "o_o_b_e", "value": policy["id"]}]}
            ]
        },
        headers=world.auth(),
    )
    assert response.status_code == 202, response.text
    tracking = response.headers["Location"].split("/")[4]
    webhooks.worker.run_until_idle()
    assert webhooks.deliverer().deliver_due() == 1  # the policy job's only
    event = Webhook(registration["secret"]).verify(hook.received[0].body, hook.received[0].headers)
    assert event["type"] == "devicepolicy.job.completed"
    assert event["data"]["trackingId"] == tracking and "batchId" not in event["data"]
    assert event["data"]["outcomes"] == {"succeeded": 0, "failed": 1, "byErrorCode": {"807": 1}}
