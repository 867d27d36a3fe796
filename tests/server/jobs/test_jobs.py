"""The job engine: leases, fencing, the reaper, crashed and concurrent workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.api import create_batch, hash_device, status_of
from tests.support.queries import count_queries
from tests.support.waiting import wait_until
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.clock import utc_now
from ztd.server.jobs import leases
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, devices, job_chunks


class FakeClock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.mark.parametrize("backend", ["sqlite"])  # the promise is about the embedded default
def test_the_embedded_worker_starts_a_job_when_it_is_accepted(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    """The request that accepts a job wakes the embedded worker: with a poll interval of a
    minute, ten devices still finish within a fraction of it."""
    settings.poll_interval_seconds = 60.0
    app = create_app(settings, db=db, embedded_worker=True)
    with TestClient(app) as client:
        tracking = create_batch(
            client, world.customer, world.auth(), "ten", [hash_device(i) for i in range(10)]
        )
        wait_until(
            lambda: (
                status_of(client, world.customer, tracking, world.auth())["status"] == "finished"
            ),
            timeout=20,
            message="the 10-device batch was not finished: the worker was not woken",
        )


def test_stale_worker_cannot_write_after_takeover(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    clock = FakeClock()
    tracking = create_batch(client, world.customer, world.auth(), "fenced", [hash_device(1)])
    with db.write() as conn:
        stale = leases.claim(conn, owner="stale", now=clock.now, lease_seconds=5)
    assert stale is not None
    clock.now += timedelta(seconds=6)  # the stale worker stopped heartbeating
    taker = Worker(db, settings, clock=clock, name="taker")
    assert taker.run_until_idle() == 1
    with pytest.raises(leases.LeaseLost):
        Worker(db, settings, clock=clock, name="stale")._finish(stale)
    result = status_of(client, world.customer, tracking, world.auth())
    assert result["status"] == "finished"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(devices)).scalar() == 1
        attempts = conn.execute(select(job_chunks.c.attempts)).scalar()
    assert attempts == 2


def test_chunk_failing_every_attempt_reports_storage_error(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    clock = FakeClock()
    settings.max_attempts = 2
    bad = {"hardwareHash": "DummyHash123", "serialNumber": "X1"}  # refused at enqueue: 802
    tracking = create_batch(client, world.customer, world.auth(), "doomed", [hash_device(1), bad])
    for _ in range(2):  # two workers claim and die
        with db.write() as conn:
            assert leases.claim(conn, owner="dies", now=clock.now, lease_seconds=5)
        clock.now += timedelta(seconds=6)
        Worker(db, settings, clock=clock).reap()
    result = status_of(client, world.customer, tracking, world.auth())
    assert result["status"] == "finished"  # every device processed; failures are per device
    assert [d["errorDescription"] for d in result["devicesStatus"]] == [
        "StorageError",
        "InvalidZtdHardwareHash",  # found in review: this used to become StorageError too
    ]
    # ...with its reason, which the reaper keeps as the enqueue stored it.
    assert "errorDetail" not in result["devicesStatus"][0]
    assert "decodes to 9 bytes" in result["devicesStatus"][1]["errorDetail"]


def test_a_chunk_left_running_without_a_lease_is_reaped(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    """Found in review: the reaper used to pick exhausted chunks with one statement and move
    them with another; on PostgreSQL a chunk could fall between the two and stay running
    with no lease, its job never finishing. Such a chunk is now reaped too."""
    clock = FakeClock()
    tracking = create_batch(client, world.customer, world.auth(), "stranded", [hash_device(1)])
    with db.write() as conn:
        assert leases.claim(conn, owner="gone", now=clock.now, lease_seconds=5)
        conn.execute(
            job_chunks.update().values(lease_owner=None, lease_token=None, lease_expires_at=None)
        )
    worker = Worker(db, settings, clock=clock)
    worker.reap()
    assert worker.run_until_idle() == 1
    assert status_of(client, world.customer, tracking, world.auth())["status"] == "finished"


def _worker_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ZTD_DATA_DIR": str(settings.data_dir),
        "ZTD_DATABASE_URL": settings.resolved_database_url,
        "ZTD_CHUNK_SIZE": str(settings.chunk_size),
        "ZTD_LEASE_SECONDS": "2",
        "ZTD_POLL_INTERVAL_SECONDS": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ztd", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _job_progress(db: Database, job_id: str) -> tuple[int, str]:
    with db.read() as conn:
        row = conn.execute(
            select(batch_jobs.c.chunks_done, batch_jobs.c.status).where(batch_jobs.c.id == job_id)
        ).one()
    return int(row.chunks_done), str(row.status)


@pytest.mark.slow
def test_sigkilled_worker_loses_nothing(
    client: TestClient, db: Database, settings: Settings, world: World, tmp_path: Path
) -> None:
    settings.chunk_size = 100
    settings.max_devices_per_request = 5000
    devices_sent = [hash_device(50_000 + i) for i in range(5000)]
    tracking = create_batch(client, world.customer, world.auth(), "crash", devices_sent)
    log = tmp_path / "workers.log"
    first = _worker_process(settings, log)

    def done_three_chunks() -> bool:
        assert first.poll() is None, log.read_text()
        return _job_progress(db, tracking)[0] >= 3

    wait_until(done_three_chunks, timeout=60, interval=0.005)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_at_kill, status_at_kill = _job_progress(db, tracking)
    assert status_at_kill == "processing", "the job finished before the kill; test proves nothing"
    second = _worker_process(settings, log)
    try:

        def finished() -> bool:
            assert second.poll() is None, log.read_text()
            return _job_progress(db, tracking)[1] != "processing"

        wait_until(finished, timeout=60, interval=0.1, message=log.read_text)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    result = status_of(client, world.customer, tracking, world.auth())
    assert result["status"] == "finished"
    assert len(result["devicesStatus"]) == 5000
    assert all(d["status"] == "finished" for d in result["devicesStatus"])
    with db.read() as conn:
        registered = conn.execute(
            select(func.count(), func.count(func.distinct(devices.c.hardware_key))).where(
                devices.c.job_id == tracking
            )
        ).one()
    assert tuple(registered) == (5000, 5000)
    assert done_at_kill < 50


def test_concurrent_jobs_leave_one_owner_per_device(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    settings.chunk_size = 25
    shared = [hash_device(70_000 + i) for i in range(300)]
    mine = create_batch(client, world.customer, world.auth(), "race", shared)
    theirs = create_batch(
        client, world.other_customer, world.auth(world.other_token), "race", list(reversed(shared))
    )
    workers = [Worker(db, settings, name=f"w{i}") for i in range(3)]
    threads = [threading.Thread(target=w.run_until_idle) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    a = status_of(client, world.customer, mine, world.auth())["devicesStatus"]
    b = status_of(client, world.other_customer, theirs, world.auth(world.other_token))[
        "devicesStatus"
    ]
    b = list(reversed(b))
    for first, second in zip(a, b, strict=True):
        outcomes = sorted([first.get("errorCode", "ok"), second.get("errorCode", "ok")])
        assert outcomes == ["808", "ok"], (first, second)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(devices)).scalar() == 300


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])  # several workers: the PostgreSQL deployment
def test_three_workers_share_a_job_and_survive_a_kill(
    client: TestClient,
    db: Database,
    settings: Settings,
    world: World,
    tmp_path: Path,
    backend: str,
) -> None:
    settings.chunk_size = 500
    settings.max_devices_per_request = 20_000
    settings.max_body_bytes = 200_000_000
    devices_sent = [hash_device(300_000 + i) for i in range(20_000)]
    tracking = create_batch(client, world.customer, world.auth(), "spread", devices_sent)
    log = tmp_path / "workers.log"
    workers = [_worker_process(settings, log) for _ in range(3)]
    try:

        def done_eight_chunks() -> bool:
            assert all(w.poll() is None for w in workers), log.read_text()
            return _job_progress(db, tracking)[0] >= 8

        wait_until(done_eight_chunks, timeout=120, message=log.read_text)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        assert _job_progress(db, tracking)[1] == "processing", "finished before the kill"
        wait_until(
            lambda: _job_progress(db, tracking)[1] != "processing",
            timeout=120,
            interval=0.1,
            message=log.read_text,
        )
    finally:
        for worker_proc in workers[1:]:
            worker_proc.send_signal(signal.SIGTERM)
            worker_proc.wait(10)
    result = status_of(client, world.customer, tracking, world.auth())
    assert result["status"] == "finished"
    assert result["startedTime"] < result["completedTime"]
    assert len(result["devicesStatus"]) == 20_000
    with db.read() as conn:
        registered = conn.execute(
            select(func.count(), func.count(func.distinct(devices.c.hardware_key))).where(
                devices.c.job_id == tracking
            )
        ).one()
        owners = conn.execute(
            select(func.count(func.distinct(job_chunks.c.lease_owner))).where(
                job_chunks.c.job_id == tracking
            )
        ).scalar()
    assert tuple(registered) == (20_000, 20_000)
    assert owners is not None and owners >= 2


class WatchedEvent(threading.Event):
    """A worker's wake-up event that tells when the worker first waits on it: the worker
    has then looked for work, found none, and sleeps until woken."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_standalone_worker_starts_a_job_when_it_is_committed(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    settings.poll_interval_seconds = 60.0  # only the NOTIFY can wake it in time
    worker = Worker(db, settings, wakeup=(wakeup := WatchedEvent()))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: worker.listener is not None, timeout=10)
        assert worker.listener is not None and worker.listener.listening.wait(10)
        # The worker found nothing queued and went to sleep for a minute.
        assert wakeup.waiting.wait(10)
        with TestClient(create_app(settings, db=db, embedded_worker=False)) as client:
            tracking = create_batch(client, world.customer, world.auth(), "n", [hash_device(9)])
            wait_until(
                lambda: (
                    status_of(client, world.customer, tracking, world.auth())["status"]
                    == "finished"
                ),
                timeout=20,
                message="the job was not started: the NOTIFY did not wake the worker",
            )
    finally:
        stop.set()
        worker.wakeup.set()
        thread.join(10)


def test_a_chunk_whose_devices_all_register_reads_none_of_its_items_back(
    client: TestClient, db: Database, world: World, worker: Worker
) -> None:
    devices = [hash_device(700 + i) for i in range(5)] + [{"SerialNumber": "NO-HASH"}]  # 803
    tracking = create_batch(client, world.customer, world.auth(), "fast", devices)
    with count_queries(db) as statements:
        worker.run_until_idle()
    # The insert reads the items inside the database; no SELECT brings them to Python (the
    # refused ones are counted by code for the metrics, in the database: count(*)).
    reads = [
        s
        for s in statements
        if s.lstrip().startswith("SELECT") and "job_items" in s and "count(*)" not in s
    ]
    assert not reads, reads
    document = status_of(client, world.customer, tracking, world.auth())
    codes = [d.get("errorCode") for d in document["devicesStatus"]]
    assert document["status"] == "finished" and codes == [None] * 5 + ["803"]
    assert all(d.get("deviceId") for d in document["devicesStatus"][:5])

    again = create_batch(client, world.customer, world.auth(), "again", devices[:2])
    worker.run_until_idle()  # both already registered: the chunk is worked out in full
    again_codes = [
        d["errorCode"]
        for d in status_of(client, world.customer, again, world.auth())["devicesStatus"]
    ]
    assert again_codes == ["806", "806"]
