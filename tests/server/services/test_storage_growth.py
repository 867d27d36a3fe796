"""Storage that does not only grow: refused items keep no junk, finished jobs are purged
after their retention, and the devices they registered keep everything they need."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.api import create_batch, hash_device, status_of
from tests.support.waiting import wait_until
from tests.support.world import World
from ztd.identity import synthesize_device
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.services.housekeeping import purge_finished_jobs
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, job_chunks, job_items


class FakeClock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def _stored_bytes(db: Database, job_id: str) -> int:
    """Every byte of every text or binary column of the job's items."""
    columns = [
        c for c in job_items.c if c.name not in ("ordinal", "hash_length") and c.name != "job_id"
    ]
    total = sum(func.coalesce(func.length(c), 0) for c in columns)
    with db.read() as conn:
        stored = conn.execute(
            select(func.coalesce(func.sum(total), 0)).where(job_items.c.job_id == job_id)
        ).scalar_one()
    return int(stored)


def test_refused_items_keep_only_their_status_entry(
    client: TestClient, db: Database, settings: Settings, world: World, worker: Worker
) -> None:
    valid = hash_device(11)
    broken = synthesize_device(12).hardware_hash
    broken = broken[:100] + ("A" if broken[100] != "A" else "B") + broken[101:]  # checksum fails
    junk = [{"SerialNumber": f"J{n}", "HardwareHash": chr(65 + n) * 1_000_000} for n in range(8)]
    sent = [
        *junk,
        valid,
        {**valid, "SerialNumber": "COPY"},  # the same machine again: a duplicate
        {"SerialNumber": "S-BROKEN", "HardwareHash": broken},  # 802 on its checksum
        {"SerialNumber": "S-NOTHING", "ModelName": "M" * 256},  # 803
    ]
    tracking = create_batch(client, world.customer, world.auth(), "junk", sent)
    # Only the registered device's hash stays (a few KB); 8 MB of junk were sent.
    assert _stored_bytes(db, tracking) < 8_000
    worker.run_until_idle()
    entries = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    assert [e.get("errorCode") for e in entries] == ["802"] * 8 + [None, None, "802", "803"]
    assert entries[9]["errorDescription"] == "ZtdDeviceDuplicated"
    assert [e["serialNumber"] for e in entries] == [d["SerialNumber"] for d in sent]


def _finish(worker: Worker, clock: FakeClock, at: timedelta) -> None:
    clock.now += at
    assert worker.run_until_idle() > 0


def _rows(db: Database, job_id: str) -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t).where(column == job_id)).scalar_one()
            for t, column in (
                (batch_jobs, batch_jobs.c.id),
                (job_chunks, job_chunks.c.job_id),
                (job_items, job_items.c.job_id),
            )
        )


def _listed_hashes(client: TestClient, world: World, batch: str) -> dict[str, str]:
    response = client.get(
        f"/v1/customers/{world.customer}/deviceBatches/{batch}/devices?includeHardwareHash=true",
        headers=world.auth(),
    )
    assert response.status_code == 200, response.text
    return {d["serialNumber"]: d["hardwareHash"] for d in response.json()["items"]}


def test_a_finished_job_past_its_retention_is_purged_and_its_devices_keep_their_hashes(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    settings.chunk_size = 2  # several chunks per job: the purge goes chunk by chunk
    clock = FakeClock()
    worker = Worker(db, settings, clock=clock)
    old_devices = [hash_device(21 + n) for n in range(5)]
    old = create_batch(client, world.customer, world.auth(), "old", [*old_devices, {"X": 1}])
    _finish(worker, clock, timedelta(0))
    recent = create_batch(client, world.customer, world.auth(), "recent", [hash_device(31)])
    _finish(worker, clock, timedelta(days=20))
    unfinished = create_batch(client, world.customer, world.auth(), "queued", [hash_device(41)])
    before = _listed_hashes(client, world, "old")
    assert before == {d["SerialNumber"]: d["HardwareHash"] for d in old_devices}

    # 11 days later: the old job finished 31 days ago, the recent one 11.
    later = clock.now + timedelta(days=11)
    assert purge_finished_jobs(db, now=later, retention_days=30) == 1
    assert _rows(db, old) == (0, 0, 0)
    assert _rows(db, recent) == (1, 1, 1)
    assert _rows(db, unfinished)[0] == 1
    assert purge_finished_jobs(db, now=later + timedelta(days=3650), retention_days=30) == 1
    assert _rows(db, unfinished)[0] == 1  # never finished: kept, however old

    response = client.get(
        f"/v1/customers/{world.customer}/batchJobStatus/{old}", headers=world.auth()
    )
    assert response.status_code == 404
    assert _listed_hashes(client, world, "old") == before
    # The registry still knows them: 806 for this customer, 808 for another.
    again = create_batch(client, world.customer, world.auth(), "again", old_devices[:2])
    theirs = create_batch(
        client, world.other_customer, world.auth(world.other_token), "theirs", old_devices[2:3]
    )
    worker.run_until_idle()
    codes = [
        e.get("errorCode")
        for e in status_of(client, world.customer, again, world.auth())["devicesStatus"]
    ]
    assert codes == ["806", "806"]
    other = status_of(client, world.other_customer, theirs, world.auth(world.other_token))
    assert [e.get("errorCode") for e in other["devicesStatus"]] == ["808"]
    assert status_of(client, world.customer, unfinished, world.auth())["status"] == "finished"


def test_the_worker_purges_periodically_by_its_clock(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    settings.lease_seconds = 0.3  # housekeeping every 0.1 s
    settings.job_retention_days = 2
    clock = FakeClock()
    worker = Worker(db, settings, clock=clock)
    tracking = create_batch(client, world.customer, world.auth(), "p", [hash_device(51)])
    worker.run_until_idle()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        passes = {worker._last_reap}

        def housekept_a_few_times() -> bool:  # by the clock still too early to purge
            passes.add(worker._last_reap)
            return len(passes) >= 4

        wait_until(housekept_a_few_times, message="no housekeeping passes")
        assert _rows(db, tracking)[0] == 1, "purged before its retention ran out"
        clock.now += timedelta(days=2, seconds=1)
        wait_until(lambda: _rows(db, tracking)[0] != 1, message="not purged")
    finally:
        stop.set()
        worker.wakeup.set()
        thread.join(10)
    assert _rows(db, tracking) == (0, 0, 0)
    assert list(_listed_hashes(client, world, "p").values()) == [hash_device(51)["HardwareHash"]]
