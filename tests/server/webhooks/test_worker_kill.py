"""A worker SIGKILLed, or SIGTERMed past its grace, while a webhook is in flight: another
worker delivers the event once the lease runs out, with the same webhook-id. Real worker
processes, a real endpoint."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.api import create_batch, hash_device
from tests.support.receiver import Received
from tests.support.waiting import STARTUP_SECONDS
from tests.support.webhooks import Webhooks, worker_process
from ztd.server.storage.schema import webhook_attempts, webhook_deliveries

pytestmark = [pytest.mark.slow, pytest.mark.timing]
LEASE_OF_3_S = {"ZTD_WEBHOOK_TIMEOUT_SECONDS": "0.5"}  # 4 x 0.5 + 1


def test_a_worker_killed_mid_delivery_leaves_the_event_to_the_next_one_with_its_id(
    webhooks: Webhooks, tmp_path: Path
) -> None:
    settings, hook = webhooks.settings, webhooks.hook
    release = threading.Event()

    def hold_the_first(got: Received) -> None:
        if len(hook.received) == 1:
            release.wait(STARTUP_SECONDS)  # in flight until the test has killed the sender

    hook.before_answer = hold_the_first
    webhooks.subscribe()
    create_batch(
        webhooks.client, webhooks.world.customer, webhooks.world.auth(), "killed", [hash_device(11)]
    )
    first = worker_process(settings, tmp_path / "first.log", **LEASE_OF_3_S)
    try:
        assert hook.arrived.wait(STARTUP_SECONDS), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
    second = worker_process(settings, tmp_path / "second.log", **LEASE_OF_3_S)
    try:
        hook.wait_for(2, timeout=STARTUP_SECONDS)  # a start, a lease
    finally:
        second.terminate()
        second.wait(15)
    ids = {got.headers["webhook-id"] for got in hook.received}
    assert len(hook.received) == 2 and len(ids) == 1
    with webhooks.db.read() as conn:
        assert conn.execute(select(webhook_deliveries.c.status)).scalars().all() == ["delivered"]
        attempts = conn.execute(
            select(webhook_attempts.c.attempt, webhook_attempts.c.status_code)
        ).all()
    assert [tuple(a) for a in attempts] == [(2, 200)]  # the killed attempt left no outcome


def test_a_worker_stopped_mid_drip_exits_within_its_grace_and_the_event_is_sent_again(
    webhooks: Webhooks, tmp_path: Path
) -> None:
    """SIGTERM while the endpoint drips its answer (a byte a second, cut off by the sender
    at 2 x 1.5 s): the worker waits its grace (0.5 s) for the send, abandons it and exits;
    the next worker sends it again, same webhook-id, once the lease (7 s) runs out."""
    settings, hook = webhooks.settings, webhooks.hook
    hook.drips = lambda _got: len(hook.received) == 1
    webhooks.subscribe()
    world = webhooks.world
    create_batch(webhooks.client, world.customer, world.auth(), "stopped", [hash_device(12)])
    stopping = {"ZTD_WEBHOOK_TIMEOUT_SECONDS": "1.5", "ZTD_SHUTDOWN_GRACE_SECONDS": "0.5"}
    first = worker_process(settings, tmp_path / "first.log", **stopping)
    try:
        assert hook.arrived.wait(STARTUP_SECONDS), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        first.wait(10)
        took = time.monotonic() - signalled
    finally:
        if first.poll() is None:
            first.kill()
    # The grace, and the slack of a process exit (PostgreSQL: its job listener's last second).
    said = (tmp_path / "first.log").read_text()
    assert took < 0.5 + 1.5, f"exited {took:.2f} s after SIGTERM (grace 0.5 s)\n{said}"
    assert "abandoned 1 webhook send" in (tmp_path / "first.log").read_text()
    second = worker_process(settings, tmp_path / "second.log", **stopping)
    try:
        hook.wait_for(2, timeout=STARTUP_SECONDS)  # a start, a lease
    finally:
        second.terminate()
        second.wait(15)
    assert [got.headers["webhook-id"] for got in hook.received] == [
        hook.received[0].headers["webhook-id"]
    ] * 2
    with webhooks.db.read() as conn:
        assert conn.execute(select(webhook_deliveries.c.status)).scalars().all() == ["delivered"]
        attempts = conn.execute(
            select(webhook_attempts.c.attempt, webhook_attempts.c.status_code)
        ).all()
    assert [tuple(a) for a in attempts] == [(2, 200)]  # the abandoned attempt left no outcome
