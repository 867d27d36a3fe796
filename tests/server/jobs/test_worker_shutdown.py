"""SIGTERM to a worker holding a lease: it stops claiming, finishes or releases what it
holds, and exits within a bound; another worker finishes the job at once, not when the lease
would have expired, and every device is registered once. Real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.api import create_batch, status_of
from tests.support.waiting import STARTUP_SECONDS
from tests.support.world import World
from ztd.server.jobs.states import ChunkState
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, devices, job_chunks

pytestmark = [pytest.mark.slow, pytest.mark.timing]

# Longer than the test may take: a lease left behind would stall the job visibly.
LEASE_SECONDS = 300


def _worker(settings: Settings, log: Path, grace: float = 5.0) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ZTD_DATA_DIR": str(settings.data_dir),
        "ZTD_DATABASE_URL": settings.resolved_database_url,
        "ZTD_CHUNK_SIZE": str(settings.chunk_size),
        "ZTD_LEASE_SECONDS": str(LEASE_SECONDS),
        "ZTD_POLL_INTERVAL_SECONDS": "0.05",
        "ZTD_SHUTDOWN_GRACE_SECONDS": str(grace),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ztd", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _running_chunks(db: Database, job_id: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    job_chunks.c.job_id == job_id, job_chunks.c.status == ChunkState.RUNNING.value
                )
            ).scalar_one()
        )


def _status(db: Database, job_id: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(select(batch_jobs.c.status).where(batch_jobs.c.id == job_id)).scalar_one()
        )


@pytest.mark.parametrize("backend", ["postgresql"])  # several workers: the PostgreSQL deployment
def test_sigterm_releases_the_job_to_another_worker_at_once(
    client: TestClient,
    db: Database,
    settings: Settings,
    world: World,
    tmp_path: Path,
    backend: str,
) -> None:
    settings.chunk_size = 2500
    settings.max_devices_per_request = 20_000
    sent = [
        {"SerialNumber": f"SHUTDOWN-{n:06d}", "OemManufacturerName": "Contoso", "ModelName": "S1"}
        for n in range(20_000)
    ]
    tracking = create_batch(client, world.customer, world.auth(), "shutdown", sent)
    log = tmp_path / "workers.log"
    first = _worker(settings, log)
    deadline = time.monotonic() + STARTUP_SECONDS  # until the process holds a lease
    while _running_chunks(db, tracking) == 0:  # it holds a lease
        assert first.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.005)
    first.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    first.wait(10)  # raises if it has not exited within 10 s
    assert time.monotonic() - stopped < 10
    assert _status(db, tracking) == "processing", "finished before the signal"
    assert _running_chunks(db, tracking) == 0, "a lease was left behind"

    second = _worker(settings, log)
    try:
        while _status(db, tracking) == "processing":
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline + LEASE_SECONDS / 10, log.read_text()
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    result = status_of(client, world.customer, tracking, world.auth())
    assert result["status"] == "finished"
    failed = [entry for entry in result["devicesStatus"] if "errorCode" in entry]
    assert not failed, failed[:3]
    with db.read() as conn:
        registered = conn.execute(
            select(func.count(), func.count(func.distinct(devices.c.serial_number))).where(
                devices.c.job_id == tracking
            )
        ).one()
    assert tuple(registered) == (20_000, 20_000)


def test_sigterm_past_the_grace_rolls_the_chunk_back_and_releases_it(
    client: TestClient,
    db: Database,
    settings: Settings,
    world: World,
    tmp_path: Path,
) -> None:
    """One chunk of 20,000 devices and no grace: the worker cannot finish it, so it cancels
    its statement, rolls the chunk back and hands it over unstarted (its attempt not
    counted); the next worker registers every device once."""
    settings.chunk_size = 20_000
    settings.max_devices_per_request = 20_000
    sent = [
        {"SerialNumber": f"RELEASE-{n:06d}", "OemManufacturerName": "Contoso", "ModelName": "R1"}
        for n in range(20_000)
    ]
    tracking = create_batch(client, world.customer, world.auth(), "release", sent)
    log = tmp_path / "workers.log"
    first = _worker(settings, log, grace=0)
    deadline = time.monotonic() + STARTUP_SECONDS
    while _running_chunks(db, tracking) == 0:
        assert first.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.005)
    first.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    first.wait(10)
    assert time.monotonic() - stopped < 10
    assert "released chunk 0" in log.read_text(), log.read_text()
    with db.read() as conn:
        chunk = conn.execute(
            select(job_chunks.c.status, job_chunks.c.attempts, job_chunks.c.lease_owner).where(
                job_chunks.c.job_id == tracking
            )
        ).one()
        landed = conn.execute(
            select(func.count()).select_from(devices).where(devices.c.job_id == tracking)
        ).scalar()
    assert tuple(chunk) == ("queued", 0, None)
    assert landed == 0  # rolled back: nothing of the chunk survived

    second = _worker(settings, log)
    try:
        while _status(db, tracking) != "finished":
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline + 60, log.read_text()
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    with db.read() as conn:
        registered = conn.execute(
            select(func.count(), func.count(func.distinct(devices.c.serial_number))).where(
                devices.c.job_id == tracking
            )
        ).one()
        attempts = conn.execute(
            select(job_chunks.c.attempts).where(job_chunks.c.job_id == tracking)
        ).scalar()
    assert tuple(registered) == (20_000, 20_000)
    assert attempts == 1
