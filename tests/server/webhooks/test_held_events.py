"""A job's completion event never goes before its status shows the finish: an emulator hold
(``stayProcessing``) keeps the status at processing, and the event's deliveries, to URLs and
to listen channels, wait until the hold ends (seconds: then; polls: the read that ends it)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import delete, select

from tests.support.api import create_batch, hash_device
from tests.support.emulator import add_rule, operator_auth
from tests.support.receiver import Received
from tests.support.waiting import wait_until
from tests.support.webhooks import REG, Webhooks, subscribe
from ztd.server.storage.schema import emulator_holds, webhook_deliveries, webhook_events

pytestmark = pytest.mark.timing  # wall-clock bounds: run alone (Makefile)


def hold(webhooks: Webhooks, **stay: float) -> None:
    op = operator_auth(webhooks.settings, webhooks.world)
    add_rule(webhooks.client, op, {"serialNumber": "*"}, {"stayProcessing": stay})


def status(webhooks: Webhooks, tracking: str) -> str:
    world = webhooks.world
    url = f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
    response = webhooks.client.get(url, headers=world.auth())
    assert response.status_code == 200, response.text
    found: str = response.json()["status"]
    return found


def reads_the_status_on_arrival(webhooks: Webhooks, seen: list[str]) -> None:
    """The receiver does what a partner's would: on the event, GET its status URL."""

    def read(got: Received) -> None:
        seen.append(status(webhooks, orjson.loads(got.body)["data"]["trackingId"]))

    webhooks.hook.before_answer = read


def take(webhooks: Webhooks, channel: dict[str, Any]) -> list[Any]:
    polled = webhooks.client.get(
        f"{REG}/{channel['id']}/listen?wait=0", headers=webhooks.world.auth()
    )
    assert polled.status_code == 200, polled.text
    items: list[Any] = polled.json()["items"]
    return items


def test_a_seconds_hold_delays_the_event_until_the_status_shows_the_finish(
    webhooks: Webhooks,
) -> None:
    hold(webhooks, seconds=1.5)
    webhooks.subscribe()
    channel = subscribe(webhooks.client, webhooks.world, None)
    seen: list[str] = []
    reads_the_status_on_arrival(webhooks, seen)
    tracking = webhooks.finish_a_job("held")
    deliverer = webhooks.deliverer()
    assert deliverer.deliver_due() == 0 and take(webhooks, channel) == []
    assert 0 < deliverer.seconds_until_due() <= 1.5  # type: ignore[operator]
    assert status(webhooks, tracking) == "processing"
    wait_until(lambda: deliverer.deliver_due() == 1, interval=0.05, message="never sent")
    assert seen == ["finished"]
    (item,) = take(webhooks, channel)
    assert tracking in item["payload"]


@pytest.mark.parametrize("reads_first", [False, True])
def test_a_polls_hold_parks_the_event_until_the_read_that_ends_it(
    webhooks: Webhooks, reads_first: bool
) -> None:
    hold(webhooks, polls=2)
    webhooks.subscribe()
    channel = subscribe(webhooks.client, webhooks.world, None)
    seen: list[str] = []
    reads_the_status_on_arrival(webhooks, seen)
    tracking = webhooks.finish_a_job("parked")
    deliverer = webhooks.deliverer()
    assert deliverer.seconds_until_due() is None  # parked: no due time to wake up for
    if reads_first:  # the channel is looked at while the polls run out
        assert take(webhooks, channel) == []
    assert [status(webhooks, tracking) for _ in range(2)] == ["processing"] * 2
    assert deliverer.deliver_due() == 0 and take(webhooks, channel) == []
    assert status(webhooks, tracking) == "finished"  # the hold ends at this read
    assert deliverer.deliver_due() == 1 and seen == ["finished"]
    assert len(take(webhooks, channel)) == 1


def test_a_parked_event_whose_hold_went_otherwise_is_released_by_the_sweep(
    webhooks: Webhooks,
) -> None:
    hold(webhooks, polls=5)
    webhooks.subscribe()
    webhooks.finish_a_job("orphaned")
    deliverer = webhooks.deliverer()
    assert deliverer.deliver_due() == 0  # the sweep ran: the job is still held
    with webhooks.db.write() as conn:  # as an emulator reset of the customer does
        conn.execute(delete(emulator_holds))
    assert webhooks.deliverer().deliver_due() == 1  # a fresh deliverer sweeps at once


def test_a_job_without_hold_is_due_at_once_beside_a_held_one(webhooks: Webhooks) -> None:
    """Another job's parked delivery changes nothing for one nobody holds (SQLite sorts a
    missing due time first: it must not hide the due one from the dispatcher)."""
    op = operator_auth(webhooks.settings, webhooks.world)
    add_rule(webhooks.client, op, {"serialNumber": "HELD-*"}, {"stayProcessing": {"polls": 3}})
    webhooks.subscribe()
    world = webhooks.world
    create_batch(
        webhooks.client,
        world.customer,
        world.auth(),
        "held",
        [hash_device(3, SerialNumber="HELD-1")],
    )
    webhooks.worker.run_until_idle()
    webhooks.finish_a_job("free", seed=4)
    deliverer = webhooks.deliverer()
    assert deliverer.seconds_until_due() == 0
    assert deliverer.deliver_due() == 1
    with webhooks.db.read() as conn:
        left = conn.execute(
            select(webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at)
        ).all()
    assert sorted(row.status for row in left) == ["delivered", "pending"]


@pytest.mark.parametrize("stay", [{"polls": 2}, {"seconds": 1.5}])
def test_an_event_replayed_while_its_job_is_held_still_waits_for_the_hold(
    webhooks: Webhooks, stay: dict[str, float]
) -> None:
    """A replay is "send it again", not "send it before the status shows the finish"."""
    hold(webhooks, **stay)
    webhooks.subscribe()
    seen: list[str] = []
    reads_the_status_on_arrival(webhooks, seen)
    tracking = webhooks.finish_a_job("replayed")
    with webhooks.db.read() as conn:
        (event_id,) = conn.execute(select(webhook_events.c.id)).scalars()
    replayed = webhooks.client.post(
        f"/webhooks/v1/events/{event_id}/replay", headers=webhooks.world.auth()
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["queued"] == 1
    deliverer = webhooks.deliverer()
    assert deliverer.deliver_due() == 0 and seen == []
    if "polls" in stay:
        assert deliverer.seconds_until_due() is None  # parked again
        statuses = [status(webhooks, tracking) for _ in range(3)]
        assert statuses == ["processing", "processing", "finished"]
        assert deliverer.deliver_due() == 1
    else:
        assert 0 < deliverer.seconds_until_due() <= 1.5  # type: ignore[operator]
        wait_until(lambda: deliverer.deliver_due() == 1, interval=0.05, message="never sent")
    assert seen == ["finished"]
