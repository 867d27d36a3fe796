"""jobs/submit.py: the upload path's steps run in the order the module reads, the identity
checks run on the submitting thread and never from inside the storage layer, and a replay
or a refusal writes nothing. On a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from tests.support.api import hash_device
from tests.support.world import World
from ztd.server.api.device_input import parse_devices
from ztd.server.api.responses import job_location
from ztd.server.clock import utc_now
from ztd.server.errors import Conflict, CustomerNotFound, NotFound
from ztd.server.jobs.enqueue import JobItem, write_job
from ztd.server.jobs.submit import Submitted, submit_job
from ztd.server.services.idempotency import RequestKey
from ztd.server.services.uploads import ExistingBatch, NewBatch, UploadIntake
from ztd.server.storage.bulk import inserts_in_background
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, device_batches, job_items


class RecordingIntake(UploadIntake):
    """An upload intake that notes each step, the thread it ran on and who called it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps: list[str] = []
        self.threads: set[int] = set()
        self.callers: list[list[str]] = []

    def batch(self, conn: Connection, now: datetime) -> int:
        self.steps.append("batch")
        return super().batch(conn, now)

    def slices(self) -> Iterable[Sequence[Any]]:
        self.steps.append("slices")
        return super().slices()

    def prepare(self, entries: Sequence[Any]) -> list[JobItem]:
        self.steps.append(f"prepare {len(entries)}")
        self.threads.add(threading.get_ident())
        self.callers.append([frame.filename for frame in traceback.extract_stack()])
        return super().prepare(entries)


def _submit(db: Database, world: World, intake: UploadIntake, **kwargs: Any) -> Submitted:
    options: dict[str, Any] = {
        "partner_id": world.partner,
        "customer_id": world.customer,
        "key": None,
        "retention": timedelta(hours=1),
        "chunk_size": 7,
        "now": utc_now(),
        "location": job_location,
    } | kwargs
    return submit_job(db, intake, **options)


def _devices(count: int, first: int = 0) -> list[Any]:
    return parse_devices([hash_device(first + i) for i in range(count)])


def _count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_steps_run_in_order_on_the_submitting_thread(db: Database, world: World) -> None:
    batch = NewBatch("ordered", world.partner)
    intake = RecordingIntake(world.customer, batch, _devices(25), slice_size=10)
    submitted = _submit(db, world, intake)

    pipelined = inserts_in_background(db.write_engine.dialect.name)
    prepares = ["prepare 10", "prepare 10", "prepare 5"]
    if pipelined:  # worked out inside the transaction, after the batch, slice by slice
        assert intake.steps == ["batch", "slices", *prepares]
    else:  # worked out before the transaction: its locks are held only for the writes
        assert intake.steps == ["slices", *prepares, "batch"]
    assert intake.threads == {threading.get_ident()}
    for stack in intake.callers:  # called by submit, never from inside storage or enqueue
        assert stack[-2].endswith("jobs/submit.py"), stack[-2]
        assert not any(name.endswith(("storage/bulk.py", "jobs/enqueue.py")) for name in stack)

    assert submitted.job is not None and submitted.answer.status_code == 202
    assert submitted.answer.location == job_location(world.customer, submitted.job.job_id)
    assert _count(db, job_items) == 25
    with db.read() as conn:
        ordinals = conn.execute(select(job_items.c.ordinal).order_by(job_items.c.ordinal))
        assert [row[0] for row in ordinals] == list(range(25))


def test_a_retry_gets_the_stored_answer_and_writes_nothing(db: Database, world: World) -> None:
    key = RequestKey(world.partner, "retry-1", "f" * 64)
    first = _submit(
        db,
        world,
        UploadIntake(world.customer, NewBatch("r", world.partner), _devices(3)),
        key=key,
    )
    again = RecordingIntake(world.customer, NewBatch("r", world.partner), _devices(3))
    replay = _submit(db, world, again, key=key)
    assert replay.job is None and replay.answer == first.answer
    assert "batch" not in again.steps  # no batch looked up, none created twice
    assert _count(db, batch_jobs) == 1 and _count(db, device_batches) == 1

    other = RequestKey(world.partner, "retry-1", "0" * 64)  # same id, another request
    with pytest.raises(Conflict, match="different request"):
        _submit(
            db,
            world,
            UploadIntake(world.customer, NewBatch("s", world.partner), _devices(1)),
            key=other,
        )
    assert _count(db, batch_jobs) == 1


@pytest.mark.parametrize("refusal", ["other tenant", "missing batch", "taken name"])
def test_a_refused_submission_leaves_nothing_behind(
    db: Database, world: World, refusal: str
) -> None:
    _submit(
        db,
        world,
        UploadIntake(world.customer, NewBatch("Taken", world.partner), _devices(1)),
    )
    before = (_count(db, batch_jobs), _count(db, job_items), _count(db, device_batches))
    customer, target, error = {
        "other tenant": (
            world.other_customer,
            NewBatch("n", world.partner),
            CustomerNotFound,
        ),
        "missing batch": (world.customer, ExistingBatch("nope"), NotFound),
        "taken name": (world.customer, NewBatch("TAKEN", world.partner), Conflict),
    }[refusal]
    with pytest.raises(error):
        _submit(db, world, UploadIntake(customer, target, _devices(3, 100)), customer_id=customer)
    assert (_count(db, batch_jobs), _count(db, job_items), _count(db, device_batches)) == before


def test_a_job_given_another_number_of_items_than_announced_is_refused(
    db: Database, world: World
) -> None:
    items = UploadIntake(world.customer, ExistingBatch("x"), _devices(2)).prepare(_devices(2))
    options: dict[str, Any] = {
        "kind": "upload",
        "partner_id": world.partner,
        "customer_id": world.customer,
        "batch_pk": None,
        "total": 3,
        "chunk_size": 10,
        "now": utc_now(),
    }
    with (
        pytest.raises(ValueError, match="2 items were added to a job of 3"),
        db.write() as conn,
        write_job(conn, **options) as writer,
    ):
        writer.add(items)
        writer.finish()
    assert _count(db, batch_jobs) == 0 and _count(db, job_items) == 0
