"""The job engine's plug-in boundary: a kind is an object given a ChunkContext (never the
lease), the job-finished hook runs inside the finishing transaction, and a stopping worker
rolls back and releases the chunk it holds. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select, text, update

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.server.clock import utc_now
from ztd.server.jobs import finishing, leases
from ztd.server.jobs.contract import (
    AS_PLANNED,
    ChunkAttemptFailed,
    ChunkContext,
    ChunkResult,
    WorkedOut,
)
from ztd.server.jobs.enqueue import JobItem, enqueue_job
from ztd.server.jobs.finishing import FinishedJob
from ztd.server.jobs.states import ChunkState
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, job_chunks, job_items


@dataclass
class EchoKind:
    """A kind written by the test: every item succeeds under the id it was sent with."""

    name: str = "echo"
    seen: list[tuple[int, int, int]] = field(default_factory=list)  # chunk, attempt, items
    fail_attempts: int = 0  # attempts that raise ChunkAttemptFailed

    def process(self, ctx: ChunkContext) -> ChunkResult:
        items = ctx.items()
        self.seen.append((ctx.chunk.chunk_no, ctx.chunk.attempt, len(items)))
        if ctx.chunk.attempt <= self.fail_attempts:
            raise ChunkAttemptFailed(f"attempt {ctx.chunk.attempt} fails")
        return WorkedOut(items, [[item.device_ref, None, None] for item in items])


def _enqueue(db: Database, world: World, kind: str, count: int, chunk_size: int) -> str:
    with db.write() as conn:
        job = enqueue_job(
            conn,
            kind=kind,
            partner_id=world.partner,
            customer_id=world.customer,
            batch_pk=None,
            items=[JobItem(device_ref=f"item-{n}") for n in range(count)],
            chunk_size=chunk_size,
            now=utc_now(),
        )
    return job.job_id


def _document(db: Database, job_id: str) -> dict[str, object] | None:
    with db.read() as conn:
        body = conn.execute(
            select(batch_jobs.c.result_document).where(batch_jobs.c.id == job_id)
        ).scalar_one()
    return None if body is None else dict(orjson.loads(body))


def _chunks(db: Database, job_id: str) -> list[tuple[str, int, str | None]]:
    with db.read() as conn:
        rows = conn.execute(
            select(job_chunks.c.status, job_chunks.c.attempts, job_chunks.c.lease_token)
            .where(job_chunks.c.job_id == job_id)
            .order_by(job_chunks.c.chunk_no)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_new_kind_is_one_object_registered_with_the_engine(
    db: Database, settings: Settings, world: World
) -> None:
    kind = EchoKind()
    worker = Worker(db, settings)
    worker.kinds = {**worker.kinds, kind.name: kind}
    job_id = _enqueue(db, world, kind.name, count=120, chunk_size=50)
    assert worker.run_until_idle() == 3
    assert kind.seen == [(0, 1, 50), (1, 1, 50), (2, 1, 20)]
    document = _document(db, job_id)
    assert document is not None and document["status"] == "finished"
    entries = document["devicesStatus"]
    assert isinstance(entries, list)
    assert [e["deviceId"] for e in entries] == [f"item-{n}" for n in range(120)]


def test_a_kind_failing_an_attempt_is_retried_like_a_crash(
    db: Database, settings: Settings, world: World
) -> None:
    kind = EchoKind(fail_attempts=2)
    worker = Worker(db, settings)
    worker.kinds = {**worker.kinds, kind.name: kind}
    job_id = _enqueue(db, world, kind.name, count=3, chunk_size=50)
    while worker.run_until_idle():
        pass
    assert [attempt for _, attempt, _ in kind.seen] == [1, 2, 3]
    assert _chunks(db, job_id) == [("done", 3, None)]
    document = _document(db, job_id)
    assert document is not None and document["status"] == "finished"


def test_a_job_of_an_unknown_kind_is_left_to_a_worker_that_knows_it(
    db: Database, settings: Settings, world: World
) -> None:
    """A newer version enqueued it: this worker's attempt fails, nothing is written, and the
    lease expires for another worker (or the reaper) to take."""
    job_id = _enqueue(db, world, "from_the_future", count=2, chunk_size=50)
    with pytest.raises(LookupError, match="from_the_future"):
        Worker(db, settings).run_once()
    [(state, attempts, token)] = _chunks(db, job_id)
    assert (state, attempts) == ("running", 1) and token is not None
    assert _document(db, job_id) is None


@pytest.fixture
def finished_jobs() -> Iterator[list[tuple[FinishedJob, str]]]:
    """Every FinishedJob the hook sees, with the job's status as read inside the callback's
    own transaction."""
    seen: list[tuple[FinishedJob, str]] = []

    def record(conn: Connection, job: FinishedJob) -> None:
        status = conn.execute(
            select(batch_jobs.c.status).where(batch_jobs.c.id == job.job_id)
        ).scalar_one()
        seen.append((job, status))

    finishing.on_job_finished(record)
    finishing.on_job_finished(record)  # registering twice calls it once
    yield seen
    finishing.remove_job_finished(record)


def test_the_job_finished_hook_sees_each_job_once_inside_its_transaction(
    client: TestClient,
    db: Database,
    worker: Worker,
    world: World,
    finished_jobs: list[tuple[FinishedJob, str]],
) -> None:
    bad = {"hardwareHash": "DummyHash123", "serialNumber": "X1"}  # 802
    devices = [hash_device(n) for n in range(60)] + [bad]  # two chunks of 50
    tracking = create_batch(client, world.customer, world.auth(), "hooked", devices)
    worker.run_until_idle()
    assert status_of(client, world.customer, tracking, world.auth())["status"] == "finished"
    [(job, status_inside)] = finished_jobs
    assert status_inside == "finished"  # the final state, before commit
    assert (job.job_id, job.kind, job.partner_id, job.customer_id, job.batch_id) == (
        tracking,
        "upload",
        world.partner,
        world.customer,
        "hooked",
    )
    assert (job.status, job.devices, job.failed, job.succeeded) == ("finished", 61, 1, 60)
    assert job.outcome_counts() == {"ok": 60, "802": 1}
    assert job.created_at <= job.completed_at
    assert job.completed_at.utcoffset() is not None and job.created_at.utcoffset() is not None


def test_a_failing_callback_rolls_the_finish_back(
    client: TestClient, db: Database, worker: Worker, world: World
) -> None:
    def refuse(_conn: Connection, _job: FinishedJob) -> None:
        raise RuntimeError("the outbox is full")

    tracking = create_batch(client, world.customer, world.auth(), "refused", [hash_device(1)])
    finishing.on_job_finished(refuse)
    try:
        with pytest.raises(RuntimeError, match="outbox"):
            worker.run_once()
    finally:
        finishing.remove_job_finished(refuse)
    assert status_of(client, world.customer, tracking, world.auth())["status"] == "processing"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(job_items)).scalar() == 1
        state = conn.execute(select(job_chunks.c.status)).scalar()
    assert state == ChunkState.RUNNING  # its lease expires and the chunk is retried


def test_the_hook_also_sees_jobs_the_reaper_fails(
    client: TestClient,
    db: Database,
    settings: Settings,
    world: World,
    finished_jobs: list[tuple[FinishedJob, str]],
) -> None:
    settings.max_attempts = 1
    tracking = create_batch(client, world.customer, world.auth(), "doomed", [hash_device(2)])
    with db.write() as conn:  # a lease that ran out a while ago
        assert leases.claim(
            conn, owner="dies", now=utc_now() - timedelta(minutes=1), lease_seconds=5
        )
    Worker(db, settings).reap()
    [(job, _)] = finished_jobs
    assert (job.job_id, job.devices, job.failed) == (tracking, 1, 1)
    assert job.outcome_counts() == {"StorageError": 1}


def test_release_requeues_at_once_without_counting_the_attempt(
    client: TestClient, db: Database, world: World
) -> None:
    create_batch(client, world.customer, world.auth(), "released", [hash_device(3)])
    now = utc_now()
    with db.write() as conn:
        lease = leases.claim(conn, owner="stopping", now=now, lease_seconds=300)
        assert lease is not None
        assert leases.release(conn, lease)
        assert not leases.release(conn, lease)  # released already: no longer held
    with db.read() as conn:
        row = conn.execute(
            select(
                job_chunks.c.status,
                job_chunks.c.attempts,
                job_chunks.c.lease_owner,
                job_chunks.c.lease_token,
                job_chunks.c.lease_expires_at,
            )
        ).one()
    assert tuple(row) == ("queued", 0, None, None, None)
    with db.write() as conn:
        again = leases.claim(conn, owner="next", now=now, lease_seconds=300)
    assert again is not None and again.attempts == 1
    with db.write() as conn:  # the first holder's token cannot release the new lease
        assert not leases.release(conn, lease)
        assert leases.release(conn, again)


@dataclass
class SlowKind:
    """Writes to its items, then runs a statement that takes minutes: only a cancel ends it."""

    name: str = "slow"
    started: threading.Event = field(default_factory=threading.Event)

    def process(self, ctx: ChunkContext) -> ChunkResult:
        ctx.conn.execute(update(job_items).where(ctx.in_chunk()).values(device_id="touched"))
        self.started.set()
        if ctx.conn.dialect.name == "postgresql":
            ctx.conn.execute(text("SELECT pg_sleep(300)"))
        else:  # counts to ten billion
            ctx.conn.execute(
                text(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 10000000000) SELECT count(*) FROM c"
                )
            )
        return AS_PLANNED


@dataclass
class PythonSlowKind(EchoKind):
    """Takes a while outside the database: within the grace period, it is finished."""

    name: str = "python_slow"
    seconds: float = 0.5
    started: threading.Event = field(default_factory=threading.Event)

    def process(self, ctx: ChunkContext) -> ChunkResult:
        self.started.set()
        time.sleep(self.seconds)
        return super().process(ctx)


@dataclass
class ReadThenWaitKind(EchoKind):
    """Reads its items, then waits in Python until ``until()`` holds (the test makes that
    "a cancel has been sent"): every cancel sent meanwhile finds no statement running."""

    name: str = "read_then_wait"
    until: Callable[[], bool] = lambda: True
    started: threading.Event = field(default_factory=threading.Event)

    def process(self, ctx: ChunkContext) -> ChunkResult:
        result = super().process(ctx)  # its statements run before the stop
        self.started.set()
        deadline = time.monotonic() + 30
        while not self.until() and time.monotonic() < deadline:
            time.sleep(0.01)
        return result


def _run_and_stop(worker: Worker, started: threading.Event) -> float:
    """Run ``worker`` in a thread, stop it once ``started`` is set; seconds it took to
    return after the stop."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    assert started.wait(30), "the chunk never started"
    stopped = time.monotonic()
    stop.set()
    worker.wakeup.set()
    thread.join(30)
    assert not thread.is_alive(), "the worker did not stop"
    return time.monotonic() - stopped


def test_a_stopping_worker_rolls_back_and_releases_a_chunk_past_the_grace(
    db: Database, settings: Settings, world: World
) -> None:
    settings.shutdown_grace_seconds = 0.2
    slow = SlowKind()
    worker = Worker(db, settings)
    worker.kinds = {**worker.kinds, slow.name: slow}
    job_id = _enqueue(db, world, slow.name, count=3, chunk_size=50)
    assert _run_and_stop(worker, slow.started) < 5
    assert _chunks(db, job_id) == [("queued", 0, None)]  # claimable now, attempt not counted
    with db.read() as conn:  # its writes were rolled back
        touched = conn.execute(
            select(func.count()).where(job_items.c.device_id == "touched")
        ).scalar()
    assert touched == 0
    echo = EchoKind(name=slow.name)  # the next worker's version finishes it, once
    taker = Worker(db, settings)
    taker.kinds = {**taker.kinds, slow.name: echo}
    assert taker.run_until_idle() == 1
    assert echo.seen == [(0, 1, 3)]
    document = _document(db, job_id)
    assert document is not None and document["status"] == "finished"


def test_a_cancel_that_misses_every_statement_still_rolls_the_chunk_back(
    db: Database, settings: Settings, world: World
) -> None:
    """The grace runs out while the chunk is in Python, between statements: the cancel
    finds nothing to stop, yet the chunk must not commit after the worker said it rolls it
    back. It is released unstarted, and the next worker finishes it once."""
    settings.shutdown_grace_seconds = 0.1
    worker = Worker(db, settings)
    slow = ReadThenWaitKind(
        until=lambda: worker.interrupter is not None and worker.interrupter.fired
    )
    worker.kinds = {**worker.kinds, slow.name: slow}
    job_id = _enqueue(db, world, slow.name, count=3, chunk_size=50)
    assert _run_and_stop(worker, slow.started) < 5
    assert slow.seen == [(0, 1, 3)]  # it ran to its end, and still nothing was kept
    assert _chunks(db, job_id) == [("queued", 0, None)]
    assert _document(db, job_id) is None
    taker = Worker(db, settings)
    taker.kinds = {**taker.kinds, slow.name: EchoKind(name=slow.name)}
    assert taker.run_until_idle() == 1
    document = _document(db, job_id)
    assert document is not None and document["status"] == "finished"


def test_a_stopping_worker_finishes_a_chunk_within_the_grace_and_claims_no_more(
    db: Database, settings: Settings, world: World
) -> None:
    settings.shutdown_grace_seconds = 10
    slow = PythonSlowKind()
    worker = Worker(db, settings)
    worker.kinds = {**worker.kinds, slow.name: slow}
    job_id = _enqueue(db, world, slow.name, count=80, chunk_size=50)  # two chunks
    _run_and_stop(worker, slow.started)
    assert slow.seen == [(0, 1, 50)]
    assert _chunks(db, job_id) == [("done", 1, None), ("queued", 0, None)]
