"""Replaying the delivery log: attempt numbers and times (a replay continues the numbers and
the count stays truthful; an attempt is logged at the time it started), and a disabled
registration refusing replay until a PUT re-enables it, and an event replay skipping
the disabled ones (409 when all are)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from tests.support.webhooks import FakeClock, Webhooks
from ztd.server.clock import utc_now
from ztd.server.storage.schema import webhook_deliveries, webhook_subscriptions
from ztd.server.webhooks import egress, history

REG = "/webhooks/v1/registration"


def test_replays_continue_the_attempt_numbers_and_the_count_stays_truthful(
    webhooks: Webhooks,
) -> None:
    client, world, hook = webhooks.client, webhooks.world, webhooks.hook
    webhooks.settings.webhook_retry_seconds = [0, 0, 0, 0]  # four attempts at once, then failed
    registration = webhooks.subscribe()
    webhooks.finish_a_job("numbered")
    hook.script = [500, 500, 500, 500]
    deliverer = webhooks.deliverer()
    assert deliverer.deliver_due() == 4
    replayed = client.post(
        f"{REG}/{registration['id']}/replay",
        json={"failedSince": "2000-01-01T00:00:00Z"},
        headers=world.auth(),
    )
    assert replayed.json()["queued"] == 1
    hook.script = [503]
    assert deliverer.deliver_due() == 2  # a fresh schedule: the 5th fails, the 6th is due
    log = webhooks.attempts(registration)
    assert [a["attempt"] for a in log] == [6, 5, 4, 3, 2, 1]
    assert [a.get("statusCode") for a in log] == [200, 503, 500, 500, 500, 500]
    event_id = log[0]["eventId"]
    shown = client.get(f"/webhooks/v1/events/{event_id}", headers=world.auth()).json()
    (delivery,) = shown["deliveries"]
    assert delivery["attempts"] == 6 and delivery["status"] == "delivered"
    again = client.post(f"/webhooks/v1/events/{event_id}/replay", headers=world.auth())
    assert again.json()["queued"] == 1 and deliverer.deliver_due() == 1
    assert webhooks.attempts(registration)[0]["attempt"] == 7


def test_an_attempt_is_logged_at_the_time_it_started(webhooks: Webhooks) -> None:
    """attemptedTime is the start; latencyMs how long it took (the end is their sum)."""
    registration = webhooks.subscribe()
    webhooks.finish_a_job("timed")
    ended = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    with webhooks.db.write() as conn:
        (pk,) = conn.execute(select(webhook_deliveries.c.pk)).scalars().all()
        conn.execute(update(webhook_deliveries).values(attempts=1))  # as a claim leaves it
        history.record_attempts(conn, [pk], egress.Answer(504, 1500, error=None), ended)
    (attempt,) = webhooks.attempts(registration)
    assert attempt["attemptedTime"] == "2026-11-30T11:59:58.500000Z"
    assert attempt["latencyMs"] == 1500 and attempt["attempt"] == 1


def test_a_disabled_registration_refuses_replay_until_put_re_enables_it(
    webhooks: Webhooks,
) -> None:
    """410 disables; replay says since when, why and how to re-enable; PUT re-enables
    (reason gone, failure clock restarted) and the failed and cancelled deliveries can be
    replayed to the endpoint."""
    client, world, hook = webhooks.client, webhooks.world, webhooks.hook
    webhooks.settings.webhook_disable_after_days = 1
    webhooks.settings.webhook_retry_seconds = [0, 20 * 3600, 20 * 3600]
    registration = webhooks.subscribe()
    path = f"{REG}/{registration['id']}"
    webhooks.finish_a_job("gone", seed=1)
    webhooks.finish_a_job("cancelled", seed=2)
    clock = FakeClock(utc_now() + timedelta(seconds=1))
    deliverer = webhooks.deliverer(clock)
    hook.script = [500, 410]
    assert deliverer.deliver_due() == 2  # the first fails (retried in 20 h), the second: 410
    shown = webhooks.shown(registration)
    assert shown["status"] == "disabled" and shown["disabledTime"].endswith("Z")
    replay = client.post(
        f"{path}/replay", json={"failedSince": "2000-01-01T00:00:00Z"}, headers=world.auth()
    )
    assert replay.status_code == 409, replay.text
    assert replay.json()["description"] == (
        f"Webhook registration {registration['id']} is disabled since {shown['disabledTime']}: "
        f"The endpoint answered 410 Gone. Re-enable it with PUT {path} (its webhookUrl and "
        "webhookEvents), then replay."
    )
    body = {"webhookUrl": hook.url, "webhookEvents": registration["webhookEvents"]}
    enabled = client.put(path, json=body, headers=world.auth())
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "active"
    assert "disabledReason" not in enabled.json() and "disabledTime" not in enabled.json()
    with webhooks.db.read() as conn:
        row = conn.execute(select(webhook_subscriptions)).one()
    assert row.failing_since is None and row.disabled_at is None
    # The 410 one failed, the 500 one was cancelled by the disabling: both come back.
    replay = client.post(
        f"{path}/replay", json={"failedSince": "2000-01-01T00:00:00Z"}, headers=world.auth()
    )
    assert replay.status_code == 200 and replay.json()["queued"] == 2
    clock.advance(hours=26)  # past a day since the first failure: the clock was restarted
    hook.script = [500, 500]
    assert deliverer.deliver_due() == 2
    assert webhooks.shown(registration)["status"] == "active"
    assert len(hook.received) == 4


def test_an_event_replay_skips_disabled_registrations_and_says_so(webhooks: Webhooks) -> None:
    """One event to two endpoints: with one disabled, the other is queued and ``skipped``
    names the disabled one, why and how to re-enable it; with both disabled, 409 naming
    both in the registration replay's words, and nothing queued."""
    client, world = webhooks.client, webhooks.world
    first, second = webhooks.subscribe(), webhooks.subscribe()
    webhooks.finish_a_job("twice")
    assert webhooks.deliverer().deliver_due() == 2
    event_id = webhooks.attempts(first)[0]["eventId"]
    replay = f"/webhooks/v1/events/{event_id}/replay"
    since = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def disable(registration: dict[str, str]) -> str:
        with webhooks.db.write() as conn:
            conn.execute(
                update(webhook_subscriptions)
                .where(webhook_subscriptions.c.id == registration["id"])
                .values(status="disabled", disabled_reason="Gone.", disabled_at=since)
            )
        return (
            f"Webhook registration {registration['id']} is disabled since "
            f"2026-11-30T08:00:00.000000Z: Gone. Re-enable it with PUT {REG}/{registration['id']} "
            "(its webhookUrl and webhookEvents), then replay."
        )

    both = client.post(replay, headers=world.auth())
    assert both.status_code == 200 and both.json()["queued"] == 2
    assert both.json()["skipped"] == []
    first_reason = disable(first)
    some = client.post(replay, headers=world.auth())
    assert some.status_code == 200, some.text
    assert some.json()["queued"] == 1
    assert some.json()["skipped"] == [{"registrationId": first["id"], "reason": first_reason}]
    second_reason = disable(second)
    none = client.post(replay, headers=world.auth())
    assert none.status_code == 409, none.text
    said = none.json()["description"]
    assert said.startswith(f"Event {event_id} was not replayed: every registration"), said
    assert first_reason in said and second_reason in said
    with webhooks.db.read() as conn:
        statuses = conn.execute(select(webhook_deliveries.c.status)).scalars().all()
    assert "pending" in statuses  # the earlier replays' queueing; the refused one added none


def test_a_test_event_to_a_disabled_registration_is_refused_as_a_replay_is(
    webhooks: Webhooks,
) -> None:
    """The named registration disabled, or every one: 409 in the replay's words (since
    when, why, how to re-enable), ending with what to do after; no registration: 400."""
    client, world = webhooks.client, webhooks.world
    test_events = f"{REG}/validationEvents"
    none = client.post(test_events, headers=world.auth())
    assert none.status_code == 400, none.text
    assert "No webhook registration to send a test event to" in none.json()["description"]
    first, second = webhooks.subscribe(), webhooks.subscribe()
    since = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with webhooks.db.write() as conn:
        conn.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == first["id"])
            .values(status="disabled", disabled_reason="Gone.", disabled_at=since)
        )
    sentence = (
        f"Webhook registration {first['id']} is disabled since 2026-11-30T08:00:00.000000Z: "
        f"Gone. Re-enable it with PUT {REG}/{first['id']} (its webhookUrl and webhookEvents), "
        "then send the test event again."
    )
    named = client.post(test_events, json={"registrationId": first["id"]}, headers=world.auth())
    assert named.status_code == 409, named.text
    assert named.json()["description"] == sentence
    every = client.post(test_events, headers=world.auth())  # the active one takes it
    assert every.status_code == 200 and len(every.json()["eventIds"]) == 1
    with webhooks.db.write() as conn:
        conn.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == second["id"])
            .values(status="disabled", disabled_reason="Gone.", disabled_at=since)
        )
    every = client.post(test_events, headers=world.auth())
    assert every.status_code == 409, every.text
    said = every.json()["description"]
    assert said.startswith("No active webhook registration to send a test event to. "), said
    assert sentence in said and f"Webhook registration {second['id']} is disabled" in said
