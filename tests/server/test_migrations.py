"""Migrations that move data, run against a database holding work in progress."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, update

from tests.conftest import World
from ztd.identity import synthesize_device
from ztd.server.api.device_input import parse_devices
from ztd.server.clock import utc_now
from ztd.server.jobs.enqueue import enqueue_job
from ztd.server.jobs.worker import Worker
from ztd.server.services import catalog, uploads
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, devices, job_chunks, job_items, metadata


def _enqueue(conn: Connection, world: World, settings: Settings, wire: list[Any]) -> str:
    batch = uploads.create_batch(
        conn, customer_id=world.customer, batch_id="b", created_by="t", now=utc_now()
    )
    return enqueue_job(
        conn,
        kind="upload",
        partner_id=world.partner,
        customer_id=world.customer,
        batch_pk=batch,
        items=uploads.prepare_devices(parse_devices(wire)),
        chunk_size=settings.chunk_size,
        now=utc_now(),
    ).job_id


@pytest.mark.parametrize("backend", ["sqlite"])  # downgrading a shared PostgreSQL is not safe
def test_uploads_queued_before_0007_register_after_it(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    """0007 gives job items their device id at enqueue; items queued before it had none."""
    machines = [synthesize_device(seed) for seed in (401, 402)]
    wire = [{"serialNumber": m.serial, "hardwareHash": m.hardware_hash} for m in machines]
    wire.append({"serialNumber": "NO-HASH-NO-KEY"})  # fails its precheck (803)
    with db.write() as conn:
        job_id = _enqueue(conn, world, settings, wire)
        conn.execute(update(job_items).values(device_id=None))  # as 0006 stored them
    command.downgrade(migrate.alembic_config(db), "0006")
    migrate.upgrade(db)

    with db.read() as conn:
        given = conn.execute(select(job_items.c.device_id).order_by(job_items.c.ordinal))
        ids = list(given.scalars())
    assert ids[0] and ids[1] and ids[0] != ids[1]
    assert ids[2] is None  # a precheck failure never registers
    Worker(db, settings).run_until_idle()
    with db.read() as conn:
        registered = set(
            conn.execute(select(devices.c.id).where(devices.c.job_id == job_id)).scalars()
        )
    assert registered == {ids[0], ids[1]}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_job_half_done_before_0008_finishes_with_its_whole_document(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    """Chunks done before 0008 kept outcomes (``results``) instead of document parts."""
    settings.chunk_size = 2
    wire = [
        {"serialNumber": m.serial, "hardwareHash": m.hardware_hash}
        for m in (synthesize_device(seed) for seed in (501, 502, 503, 504))
    ]
    with db.write() as conn:
        job_id = _enqueue(conn, world, settings, wire)
    assert Worker(db, settings).run_once()  # the first chunk registers ...
    with db.write() as conn:  # ... and is turned into what the code before 0008 stored
        first_ids = list(
            conn.execute(
                select(devices.c.id).where(devices.c.job_id == job_id).order_by(devices.c.pk)
            ).scalars()
        )
        legacy = orjson.dumps([[device_id, None, None] for device_id in first_ids])
        conn.execute(
            update(job_chunks)
            .where(job_chunks.c.chunk_no == 0)
            .values(results=legacy, entries=None, failed=None)
        )
        conn.execute(update(job_items).where(job_items.c.ordinal >= 2).values(device_id=None))
    command.downgrade(migrate.alembic_config(db), "0006")
    migrate.upgrade(db)

    Worker(db, settings).run_until_idle()
    with db.read() as conn:
        body = conn.execute(
            select(batch_jobs.c.result_document).where(batch_jobs.c.id == job_id)
        ).scalar_one()
    document = orjson.loads(body)
    assert document["status"] == "finished"
    entries = document["devicesStatus"]
    assert [e["serialNumber"] for e in entries] == [d["serialNumber"] for d in wire]
    assert [e["deviceId"] for e in entries[:2]] == first_ids
    assert all(e["status"] == "finished" and e.get("deviceId") for e in entries)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_downgrading_below_0005_keeps_every_hash_as_sent(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    """Found in review: 0005's and 0006's downgrades dropped the compact hash columns and
    the device-to-item link, and with them every hash stored since."""
    machines = [synthesize_device(seed) for seed in (601, 602)]
    sent = [m.hardware_hash for m in machines] + ["DummyHash123", "T0FAAA" + "A" * 94]
    wire = [{"serialNumber": f"S-{n}", "hardwareHash": h} for n, h in enumerate(sent)]
    with db.write() as conn:
        job_id = _enqueue(conn, world, settings, wire)
    Worker(db, settings).run_until_idle()
    command.downgrade(migrate.alembic_config(db), "0004")
    with db.read() as conn:
        items = conn.exec_driver_sql(
            "SELECT hardware_hash FROM job_items WHERE job_id = ? ORDER BY ordinal", (job_id,)
        ).scalars()
        assert list(items) == [*sent[:2], None, None]  # refused items keep no hash
        registered = conn.exec_driver_sql(
            "SELECT hardware_hash FROM devices WHERE job_id = ? ORDER BY pk", (job_id,)
        ).scalars()
        assert list(registered) == sent[:2]  # the two valid machines registered
    migrate.upgrade(db)
    with db.read() as conn:
        listing = catalog.list_devices(conn, world.customer, "b", None, 100, with_hash=True)
    assert [d["hardwareHash"] for d in listing["items"]] == sent[:2]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_downgrading_below_0008_waits_for_unfinished_jobs(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    """Chunks done since 0008 keep document parts, not the `results` the older code
    finishes jobs from: with such a job unfinished, the downgrade refuses, changing nothing."""
    settings.chunk_size = 2
    wire = [
        {"serialNumber": m.serial, "hardwareHash": m.hardware_hash}
        for m in (synthesize_device(seed) for seed in (701, 702, 703, 704))
    ]
    with db.write() as conn:
        _enqueue(conn, world, settings, wire)
    assert Worker(db, settings).run_once()  # one chunk of two done
    with pytest.raises(RuntimeError, match="let the jobs finish first"):
        command.downgrade(migrate.alembic_config(db), "0007")
    assert migrate.is_current(db)
    Worker(db, settings).run_until_idle()
    command.downgrade(migrate.alembic_config(db), "0007")
    assert migrate.current_revision(db) == "0007"
    migrate.upgrade(db)


def test_the_migrations_build_the_schema_of_schema_py(db: Database) -> None:
    """schema.py and the Alembic migrations describe one schema: every table, column and
    index, on SQLite and PostgreSQL."""

    def ours(name: str | None, kind: str, _parent: object) -> bool:
        return kind != "table" or name in metadata.tables  # other tests add probe tables

    with db.read() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_0011_names_the_devices_of_items_done_before_0007(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    """The purge finds a job's devices through its items' device ids; items of chunks done
    before 0007 had none, and 0011 gives them the id of the device that reads from them."""
    machines = [synthesize_device(seed) for seed in (801, 802)]
    wire = [{"serialNumber": m.serial, "hardwareHash": m.hardware_hash} for m in machines]
    with db.write() as conn:
        job_id = _enqueue(conn, world, settings, wire)
    Worker(db, settings).run_until_idle()
    command.downgrade(migrate.alembic_config(db), "0010")
    with db.write() as conn:
        conn.execute(update(job_items).values(device_id=None))  # as chunks done before 0007
    migrate.upgrade(db)
    with db.read() as conn:
        named = conn.execute(
            select(job_items.c.device_id).where(job_items.c.job_id == job_id)
        ).scalars()
        registered = conn.execute(select(devices.c.id).where(devices.c.job_id == job_id))
        assert sorted(named) == sorted(registered.scalars())
