"""``poller.wait(via_events=True)``: waiting on the job's completion event over a temporary
listen channel instead of polling its status. The sync SDK against the real app in-process,
in real time (the server's long poll runs on the real clock), with the jobs run by the
test's worker when the test says: ``finish_in(seconds, worker.run_until_idle)`` is a job of
that many seconds.
Every request the SDK sends is recorded by an httpx event hook on the app's client."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.emulator import add_rule, operator_auth
from tests.support.fake_time import FakeTime
from tests.support.sdk import devices
from tests.support.sdk_requests import REG, Sent, channels, finish_in, recording
from tests.support.world import World, make_token
from ztd.client import BatchUploadPoller, PartnerClient, PollingTimeoutError, _job_events
from ztd.server.auth.tokens import Role
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import webhook_deliveries
from ztd.server.webhooks import held_events, subscriptions
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType

pytestmark = pytest.mark.timing  # wall-clock bounds: run alone (Makefile)


@pytest.fixture
def sent(client: TestClient) -> Iterator[Sent]:
    with recording(client) as recorder:
        yield recorder


@pytest.fixture
def live(client: TestClient, world: World) -> Iterator[PartnerClient]:
    """The sync SDK over the in-process app on the real clock."""
    with PartnerClient("http://testserver", token=world.token, http_client=client) as sdk:
        yield sdk


def upload(partner: PartnerClient, world: World, name: str = "b") -> BatchUploadPoller:
    return partner.customers.by_id(world.customer).device_batches.create(
        batch_id=name, devices=devices(1, 2)
    )


def test_a_job_finished_before_the_wait_costs_one_status_read(
    live: PartnerClient, world: World, worker: Worker, db: Database, sent: Sent
) -> None:
    poller = upload(live, world)
    worker.run_until_idle()
    sent.requests.clear()

    details = poller.result(timeout=30, via_events=True)

    assert details.status is DeviceUploadStatusType.FINISHED
    # The read after the channel opened sees it finished: no long poll at all.
    assert sent.kinds() == ["POST registration", "GET status", "DELETE registration"]
    assert channels(db) == []


def test_a_job_finishing_during_the_wait_costs_a_status_read_per_doubling_round(
    live: PartnerClient,
    world: World,
    worker: Worker,
    db: Database,
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Long polls of 0.5 s: a 2.5 s job spans several; the status is read at the start,
    # after the first round (1 s) and on the event (the next round would end at 3 s).
    monkeypatch.setattr(_job_events, "LONG_POLL_SECONDS", 0.5)
    poller = upload(live, world)
    sent.requests.clear()
    seen: list[DeviceUploadStatusType] = []
    finish_in(2.5, worker.run_until_idle)
    started = time.monotonic()

    details = poller.result(timeout=60, via_events=True, on_update=lambda d: seen.append(d.status))

    assert time.monotonic() - started >= 2.5
    assert details.status is DeviceUploadStatusType.FINISHED and len(details.devices_status) == 2
    assert (
        details
        == live.customers.by_id(world.customer).batch_upload_status.by_id(poller.tracking_id).get()
    )
    assert sent.status_reads() == 3 + 1  # the wait's three, and the comparison just above
    assert sent.long_polls() >= 4
    queued, finished = DeviceUploadStatusType.QUEUED, DeviceUploadStatusType.FINISHED
    assert seen == [queued, queued, finished]
    assert channels(db) == []


def test_polling_the_same_job_reads_its_status_again_and_again(
    live: PartnerClient, world: World, worker: Worker, sent: Sent
) -> None:
    """The comparison: the same 3 s job waited on by polling (1 s, 2 s, 4 s, 5 s ... apart)
    costs a read per poll; its cost grows with the job's length (see the next test)."""
    poller = upload(live, world)
    sent.requests.clear()
    finish_in(3.0, worker.run_until_idle)

    assert poller.result(timeout=60).status is DeviceUploadStatusType.FINISHED

    assert sent.status_reads() >= 3 and sent.long_polls() == 0


def test_polling_a_job_of_a_minute_reads_its_status_again_and_again(
    client: TestClient, world: World, worker: Worker, fake_time: FakeTime, sent: Sent
) -> None:
    """In fake time: the worker runs the job only once 60 s have passed."""
    fake_time.worker = None
    start = fake_time.now

    def sleep(seconds: float) -> None:
        fake_time.sleep(seconds)
        if fake_time.now - start >= 60:
            worker.run_until_idle()

    with PartnerClient(
        "http://testserver",
        token=world.token,
        http_client=client,
        sleep=sleep,
        clock=fake_time.clock,
    ) as partner:
        poller = upload(partner, world)
        sent.requests.clear()
        poller.wait(timeout=600)

    assert sent.status_reads() == len(fake_time.sleeps) + 1 >= 15


def test_the_timeout_reads_once_more_raises_as_polling_does_and_removes_the_channel(
    live: PartnerClient, world: World, db: Database, sent: Sent
) -> None:
    poller = upload(live, world)  # nobody runs the worker: it stays queued
    sent.requests.clear()
    started = time.monotonic()

    with pytest.raises(PollingTimeoutError) as caught:
        poller.wait(timeout=1.5, via_events=True)

    assert 1.5 <= time.monotonic() - started < 5
    assert caught.value.tracking_id == poller.tracking_id
    assert caught.value.last_status is not None
    assert caught.value.last_status.status is DeviceUploadStatusType.QUEUED
    assert "did not finish within 1.5 s" in caught.value.message
    assert sent.status_reads() == 3  # at the start, after a round of 1 s, at the deadline
    assert sent.kinds()[0] == "POST registration" and sent.kinds()[-1] == "DELETE registration"
    assert channels(db) == []


def test_an_interrupted_wait_removes_its_channel(
    live: PartnerClient, world: World, db: Database
) -> None:
    poller = upload(live, world)

    def interrupt(details: BatchUploadDetails) -> None:
        assert channels(db) != []  # open while waiting
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        poller.wait(timeout=30, via_events=True, on_update=interrupt)
    assert channels(db) == []


def test_another_partners_job_never_wakes_the_wait(
    live: PartnerClient, client: TestClient, world: World, worker: Worker, db: Database, sent: Sent
) -> None:
    # The other partner listens too, so its job's completion is an event.
    theirs = client.post(
        REG,
        json={"listen": True, "webhookEvents": list(_job_events.JOB_EVENTS)},
        headers=world.auth(world.other_token),
    ).json()["id"]
    with PartnerClient("http://testserver", token=world.other_token, http_client=client) as other:
        their_job = other.customers.by_id(world.other_customer).device_batches.create(
            batch_id="theirs", devices=devices(7)
        )
    poller = upload(live, world)  # queued after theirs: run_once finishes theirs only
    sent.requests.clear()
    finish_in(0.5, worker.run_once)

    with pytest.raises(PollingTimeoutError):
        poller.wait(timeout=2.0, via_events=True)

    # Two rounds (1 s, then up to the deadline) ran out: nothing woke them.
    assert sent.long_polls() == 2 and sent.status_reads() == 3
    assert poller.last_status is not None
    assert poller.last_status.status is DeviceUploadStatusType.QUEUED
    assert their_job.status() is DeviceUploadStatusType.FINISHED
    with db.read() as conn:
        delivered_to = conn.execute(select(webhook_deliveries.c.subscription_id)).scalars().all()
    assert delivered_to == [theirs]
    assert channels(db) == [theirs]


def test_a_token_that_may_only_read_falls_back_to_polling(
    client: TestClient,
    partner: PartnerClient,
    world: World,
    settings: Settings,
    fake_time: FakeTime,
    sent: Sent,
) -> None:
    poller = upload(partner, world)
    reader = make_token(settings, world.partner, roles=(Role.SALES_AGENT,))
    with PartnerClient(
        "http://testserver",
        token=reader,
        http_client=client,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as reading:
        resumed = reading.poller_from_continuation_token(poller.continuation_token())
        sent.requests.clear()
        details = resumed.result(timeout=60, via_events=True)

    assert details.status is DeviceUploadStatusType.FINISHED
    # 403 for the channel; then the polling wait (fake time: the worker runs at each sleep).
    assert sent.kinds() == ["POST registration", "GET status", "GET status"]
    assert fake_time.sleeps == [1.0]


def test_a_channel_removed_under_the_wait_falls_back_to_polling(
    live: PartnerClient, world: World, worker: Worker, db: Database, sent: Sent
) -> None:
    poller = upload(live, world)
    sent.requests.clear()

    def remove_then_finish() -> None:
        with db.write() as conn:  # as the server does with a channel unpolled for a minute
            for channel in channels(db):
                subscriptions.remove(conn, world.partner, channel)
        worker.run_until_idle()

    finish_in(0.5, remove_then_finish)
    details = poller.result(timeout=30, via_events=True)

    assert details.status is DeviceUploadStatusType.FINISHED
    kinds = sent.kinds()
    assert kinds[:3] == ["POST registration", "GET status", "GET listen"]
    # The listen poll's 404 ends the event wait (the SDK's DELETE finds nothing); polls follow.
    gone = kinds.index("DELETE registration")
    assert kinds[gone - 1] == "GET listen" and set(kinds[gone + 1 :]) == {"GET status"}
    assert channels(db) == []


def test_the_partners_other_jobs_events_are_read_and_dropped(
    live: PartnerClient, world: World, worker: Worker, sent: Sent
) -> None:
    first = upload(live, world, "first")
    second = upload(live, world, "second")  # queued after the first: run_once ends the first
    sent.requests.clear()
    finish_in(0.5, worker.run_once)

    with pytest.raises(PollingTimeoutError):
        second.wait(timeout=2.0, via_events=True)

    # The first job's event ended one long poll; the wait went on without a status read
    # until its round (1 s) ended.
    assert sent.long_polls() == 3 and sent.status_reads() == 3
    assert first.status() is DeviceUploadStatusType.FINISHED


def test_the_read_rounds_double_up_to_a_minute() -> None:
    rounds = _job_events.ReadRounds()
    assert [rounds.next() for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


@pytest.mark.parametrize(("job_seconds", "reads"), [(0.5, 2), (60, 7), (600, 16)])
def test_the_status_reads_of_a_wait_grow_with_the_log_of_the_jobs_length(
    job_seconds: float, reads: int
) -> None:
    """The reads a wait makes for a job that ends ``job_seconds`` after the channel opened:
    one then, one after each round that ended before, one on the event."""
    rounds, at, count = _job_events.ReadRounds(), 0.0, 1
    while (at := at + rounds.next()) < job_seconds:
        count += 1
    assert count + 1 == reads


@pytest.mark.parametrize("before", [True, False])
def test_a_held_status_ends_the_wait_when_the_hold_ends(
    live: PartnerClient,
    client: TestClient,
    world: World,
    settings: Settings,
    worker: Worker,
    sent: Sent,
    before: bool,
) -> None:
    """A tryout's: with `stayProcessing` for 5 s, `result(timeout=40, via_events=True)`
    returned at 40 s. The job had finished before the channel opened (its event went to
    nobody) and the one status read said processing. ``before``: so it is here; otherwise
    the job finishes during the wait, and its event comes when the hold ends."""
    hold = 3.0
    op = operator_auth(settings, world)
    add_rule(client, op, {"serialNumber": "*"}, {"stayProcessing": {"seconds": hold}})
    poller = upload(live, world)
    started = time.monotonic()
    if before:
        worker.run_until_idle()
    else:
        finish_in(0.3, worker.run_until_idle)
    sent.requests.clear()

    details = poller.result(timeout=40, via_events=True)

    took = time.monotonic() - started
    assert details.status is DeviceUploadStatusType.FINISHED
    assert hold <= took < hold + 3.0
    # Read at the start, after rounds of 1 and 2 s, and once the hold ended (at most 5).
    assert 2 <= sent.status_reads() <= 5


def test_an_event_ahead_of_the_status_hands_the_wait_to_polling(
    live: PartnerClient,
    client: TestClient,
    world: World,
    settings: Settings,
    worker: Worker,
    db: Database,
    sent: Sent,
) -> None:
    """A service that sends the event before its status shows the finish (ztd waits for an
    emulator hold: here its parked delivery is let go by hand): the wait polls from then."""
    op = operator_auth(settings, world)
    add_rule(client, op, {"serialNumber": "*"}, {"stayProcessing": {"polls": 3}})
    poller = upload(live, world)
    sent.requests.clear()

    def finish_and_send_early() -> None:
        worker.run_until_idle()
        with db.write() as conn:
            held_events.release(conn, poller.tracking_id, utc_now())

    finish_in(0.3, finish_and_send_early)
    started = time.monotonic()

    details = poller.result(timeout=30, via_events=True)

    assert details.status is DeviceUploadStatusType.FINISHED
    assert time.monotonic() - started < 8.0  # a poll or three (Retry-After: 1), not the timeout
    # The first read (queued), three held ones (the first on the event), then finished.
    assert sent.long_polls() == 1 and sent.status_reads() == 5
