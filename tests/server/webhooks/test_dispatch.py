"""Webhooks are sent beside the chunk loop: slow endpoints (real sockets answering a byte a
second) hold neither the jobs, nor another partner's webhooks, nor a retry's schedule; a
registration never has two deliveries in flight; idle, the deliverer only reads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.support.api import create_batch, hash_device, status_of
from tests.support.receiver import Received, Receiver, receiver
from tests.support.waiting import STARTUP_SECONDS, wait_until
from tests.support.webhooks import (
    Webhooks,
    as_other_partner,
    send_test_event,
    subscribe,
    worker_process,
)
from tests.support.world import World, make_token
from ztd.server.app import create_app
from ztd.server.auth.tokens import Role
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker, WorkerThread
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import webhook_deliveries
from ztd.server.webhooks.delivery import Deliverer


@contextmanager
def slow_endpoints(client: TestClient, world: World, count: int) -> Iterator[Receiver]:
    """``count`` registrations of ``world``'s partner at one endpoint (paths /slow/0, ...)
    that answers 200 a byte a second, and a test event queued to each; yields the endpoint
    (callers wait for the sends they expect to start)."""
    with receiver() as slow:
        slow.drips = lambda _got: True
        for n in range(count):
            subscribe(client, world, slow.url.rsplit("/", 1)[0] + f"/slow/{n}")
        send_test_event(client, world)
        yield slow


def _wire(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_slow_endpoints_hold_neither_the_jobs_nor_another_partners_webhook(
    db: Database, loopback: Settings, world: World
) -> None:
    """Partner B's four endpoints drip their answers; partner A's upload of ten devices is
    processed at once and its job.completed reaches A's endpoint within a second."""
    loopback.shutdown_grace_seconds = 0.2  # the drips are abandoned when the app stops
    app = create_app(loopback, db=db, embedded_worker=True)
    with receiver() as fast, TestClient(app) as client:
        subscribe(client, world, fast.url)
        with slow_endpoints(client, as_other_partner(world), 4) as slow:
            wait_until(lambda: len(slow.received) == 4, timeout=5)  # all four in flight
            devices = [hash_device(n) for n in range(10)]
            posted = time.time()
            tracking = create_batch(client, world.customer, world.auth(), "beside", devices)
            (got,) = fast.wait_for(1, timeout=5)
            still_dripping = sum(slow.in_flight.values())
            status = status_of(client, world.customer, tracking, world.auth())
    assert status["status"] == "finished"
    waited = _wire(status["startedTime"]) - posted  # (it took 38.6 s behind the drips)
    assert waited < 1.0, f"the job started {waited:.2f} s after its upload was posted"
    late = got.at - _wire(status["completedTime"])
    assert late < 1.0, f"job.completed arrived {late:.2f} s after the job completed"
    assert still_dripping == 4


def test_one_partner_gets_at_most_a_quarter_of_the_senders(
    db: Database, loopback: Settings, world: World
) -> None:
    loopback.webhook_concurrency = 8
    loopback.shutdown_grace_seconds = 0.2
    app = create_app(loopback, db=db, embedded_worker=True)
    with (
        receiver() as fast,
        TestClient(app) as client,
        slow_endpoints(client, as_other_partner(world), 5) as slow,
    ):
        wait_until(lambda: len(slow.received) == 2, timeout=5)
        subscribe(client, world, fast.url)
        sent = time.time()
        send_test_event(client, world)
        (got,) = fast.wait_for(1, timeout=5)
        dripping = (len(slow.received), sum(slow.in_flight.values()))
    late = got.at - sent
    assert late < 1.0, f"the test event arrived {late:.2f} s after it was sent"
    assert dripping == (2, 2)  # two of the eight senders; the other three endpoints wait


def test_slow_endpoints_of_two_partners_leave_a_sender_for_a_third(
    db: Database, loopback: Settings, world: World
) -> None:
    """Found in a tryout: two partners with many slow endpoints each took half the senders,
    so a third partner's webhook waited 18 s. The last half of the senders is kept for
    partners with nothing in flight."""
    loopback.webhook_concurrency = 8
    loopback.shutdown_grace_seconds = 0.2
    with db.write() as conn:
        third = tenancy.add_partner(conn, "Tailspin Partner", utc_now())
    third_world = replace(
        world,
        partner=third,
        token=make_token(loopback, third, roles=(Role.ADMIN_AGENT,)),
    )
    app = create_app(loopback, db=db, embedded_worker=True)
    with (
        receiver() as fast,
        TestClient(app) as client,
        slow_endpoints(client, as_other_partner(world), 5) as slow,
        slow_endpoints(client, third_world, 5) as slower,
    ):
        wait_until(lambda: len(slow.received) + len(slower.received) == 4, timeout=5)
        subscribe(client, world, fast.url)
        sent = time.time()
        send_test_event(client, world)
        (got,) = fast.wait_for(1, timeout=5)
        dripping = sorted((len(slow.received), len(slower.received)))
    late = got.at - sent
    assert late < 1.0, f"the third partner's event arrived {late:.2f} s after it was sent"
    assert dripping == [2, 2]  # four senders held; the reserve took the third partner's


def test_a_registration_never_has_two_deliveries_in_flight(
    db: Database, loopback: Settings, world: World
) -> None:
    """Three events to each of two registrations whose endpoint takes 0.2 s to answer: one
    at a time per registration, the two registrations side by side (each one's first event
    arrives while the other's is still being answered)."""
    app = create_app(loopback, db=db, embedded_worker=True)
    both_arrived = threading.Event()
    beside: dict[str, bool] = {}  # path -> the other's first arrived while its first was held

    def slowly(got: Received) -> None:  # an endpoint taking 0.2 s to answer
        if {"/a", "/b"} <= {r.path for r in hook.received}:
            both_arrived.set()
        hook.closing.wait(0.2)
        if len(hook.at(got.path)) == 1:
            # Hold each registration's first answer until the other's first arrived (not a
            # bound on how soon: one after the other, it would never arrive in 10 s).
            beside[got.path] = both_arrived.wait(10)

    with receiver() as hook, TestClient(app) as client:
        hook.before_answer = slowly
        base = hook.url.rsplit("/", 1)[0]
        for path in ("/a", "/b"):
            subscribe(client, world, base + path)
        for _ in range(3):
            send_test_event(client, world)
        hook.wait_for(6, timeout=30)
    assert hook.most_in_flight == {"/a": 1, "/b": 1}
    assert beside == {"/a": True, "/b": True}, "one registration's sends waited for the other's"


def test_the_claim_skips_a_registration_with_a_live_lease_in_any_process(
    webhooks: Webhooks, settings: Settings
) -> None:
    """Two deliverers on their own connections (as two worker processes): while one sends
    a registration's delivery, the other takes the next registration's, not the same one's;
    once the lease runs out, the delivery itself is taken again (attempt 2)."""
    client, world = webhooks.client, webhooks.world
    first = subscribe(client, world, webhooks.hook.url + "/first")
    send_test_event(client, world)
    second = subscribe(client, world, webhooks.hook.url + "/second")
    send_test_event(client, world)  # first: two deliveries queued; second: one
    now = utc_now() + timedelta(seconds=1)
    one = Deliverer(webhooks.db, settings, clock=lambda: now)
    elsewhere = Database(settings.resolved_database_url)
    try:
        other = Deliverer(elsewhere, settings, clock=lambda: now)
        taken = one.claim_next()
        assert taken is not None and taken.subscription_id == first["id"]
        beside = other.claim_next()
        assert beside is not None and beside.subscription_id == second["id"]
        assert other.claim_next() is None  # first's next waits for its delivery in flight
        later = Deliverer(elsewhere, settings, clock=lambda: now + timedelta(seconds=60))
        again = later.claim_next()  # both leases ran out: the oldest, the same delivery
        assert again is not None and (again.pk, again.attempt) == (taken.pk, 2)
    finally:
        elsewhere.dispose()


@pytest.mark.timing
def test_a_retry_is_sent_on_time_beside_slow_endpoints(
    db: Database, loopback: Settings, world: World
) -> None:
    loopback.webhook_retry_seconds = [0, 2]
    loopback.shutdown_grace_seconds = 0.2
    app = create_app(loopback, db=db, embedded_worker=True)
    with receiver() as hook, TestClient(app) as client:
        hook.script = [500]
        with slow_endpoints(client, as_other_partner(world), 4) as slow:
            wait_until(lambda: len(slow.received) == 4, timeout=5)
            subscribe(client, world, hook.url)
            send_test_event(client, world)
            failed, retried = hook.wait_for(2, timeout=10)
    assert failed.headers["webhook-id"] == retried.headers["webhook-id"]
    after = retried.at - failed.at  # attempt 2, due 2 s after the failure
    assert abs(after - 2) < 1.0, f"attempt 2 arrived {after:.2f} s after attempt 1, not 2 s"


def test_the_chunk_loop_never_looks_at_deliveries_and_an_idle_deliverer_only_reads(
    client: TestClient, db: Database, loopback: Settings, world: World
) -> None:
    """No subscription: the worker thread's statements never name webhook_deliveries, and
    the dispatcher's are one read a poll interval, never a claim (SQLite's write lock)."""
    seen: list[tuple[str, str]] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append((threading.current_thread().name, statement))

    engines = {db.write_engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    running = WorkerThread(Worker(db, loopback))
    running.start()
    try:
        started = time.monotonic()
        tracking = create_batch(client, world.customer, world.auth(), "idle", [hash_device(1)])
        wait_until(
            lambda: (
                status_of(client, world.customer, tracking, world.auth())["status"] == "finished"
            )
        )
        wait_until(lambda: sum(name == "ztd-webhooks" for name, _ in seen) >= 20)
        elapsed = time.monotonic() - started
    finally:
        running.shutdown()
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)
    by_worker = [sql for name, sql in seen if name == "ztd-worker"]
    assert by_worker and not [sql for sql in by_worker if "webhook_deliveries" in sql]
    peeks = [sql for name, sql in seen if name == "ztd-webhooks" and "webhook_deliveries" in sql]
    assert not [sql for sql in peeks if sql.lstrip().upper().startswith("UPDATE")]
    # One a poll interval, one when the job finished, and the sweep's look at the log.
    assert len(peeks) <= elapsed / loopback.poll_interval_seconds + 3
    with db.read() as conn:
        assert conn.execute(select(webhook_deliveries.c.pk)).first() is None


@pytest.mark.slow
@pytest.mark.timing
@pytest.mark.parametrize("backend", ["postgresql"])  # several workers: the PostgreSQL deployment
def test_several_worker_processes_send_a_registrations_deliveries_one_at_a_time(
    webhooks: Webhooks, tmp_path: Path, backend: str
) -> None:
    """Two `ztd worker` processes, six events queued to one registration whose endpoint
    takes 0.2 s to answer: each event arrives once, never two at a time."""
    hook = webhooks.hook

    def slowly(_got: Received) -> None:
        hook.closing.wait(0.2)

    hook.before_answer = slowly
    webhooks.subscribe()
    for _ in range(6):
        send_test_event(webhooks.client, webhooks.world)
    log = tmp_path / "workers.log"
    workers = [worker_process(webhooks.settings, log) for _ in range(2)]
    try:
        hook.wait_for(6, timeout=STARTUP_SECONDS)  # two process starts first
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(15)
    ids = [got.headers["webhook-id"] for got in hook.received]
    assert len(ids) == len(set(ids)) == 6, log.read_text()
    assert hook.most_in_flight == {"/hook": 1}
