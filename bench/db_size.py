"""Database size per registered device, on SQLite and PostgreSQL.

    .venv/bin/python bench/db_size.py                       # 20,000 devices, both backends
    .venv/bin/python bench/db_size.py --backend sqlite --devices 50000

Registers N devices with valid synthetic hashes (uploads of 10,000, worked by an in-process
worker) and prints the bytes the database holds per device, over an empty migrated database:

- while their jobs are kept (devices + the jobs' items, chunks and status documents);
- after the jobs are purged (ZTD_JOB_RETENTION_DAYS): the devices alone, each with its own
  copy of its hash.

Bytes are the pages in use: SQLite's page count less its free list (a deleted page is reused,
the file does not shrink), PostgreSQL's tables and indexes after VACUUM FULL (a plain VACUUM
also makes dead space reusable without returning it).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import environment, machine_description

from ztd.identity import synthesize_device
from ztd.server.api.device_input import parse_devices
from ztd.server.clock import utc_now
from ztd.server.jobs.enqueue import enqueue_job
from ztd.server.jobs.worker import Worker
from ztd.server.services import uploads
from ztd.server.services.housekeeping import purge_finished_jobs
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import metadata

REQUEST_SIZE = 10_000


def used_bytes(db: Database) -> int:
    if db.is_sqlite:
        with db.read() as conn:  # the current snapshot, the WAL's pages included
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        return int((pages - free) * size)
    tables = [table.name for table in metadata.sorted_tables]
    with db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.execute(text(f'VACUUM FULL "{name}"'))
        return sum(
            int(conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": name}).scalar_one())
            for name in tables
        )


def register(db: Database, settings: Settings, customer: str, partner: str, count: int) -> None:
    for first in range(0, count, REQUEST_SIZE):
        seeds = range(first, min(count, first + REQUEST_SIZE))
        wire = [
            {"serialNumber": d.serial, "hardwareHash": d.hardware_hash}
            for d in map(synthesize_device, seeds)
        ]
        now = utc_now()
        with db.write() as conn:
            batch = uploads.create_batch(
                conn, customer_id=customer, batch_id=f"b{first}", created_by="bench", now=now
            )
            enqueue_job(
                conn,
                kind="upload",
                partner_id=partner,
                customer_id=customer,
                batch_pk=batch,
                items=uploads.prepare_devices(parse_devices(wire)),
                chunk_size=settings.chunk_size,
                now=now,
            )
        Worker(db, settings).run_until_idle()


def measure(backend: str, count: int) -> tuple[float, float]:
    with environment(backend) as env:
        settings = Settings(data_dir=env.data_dir, database_url=env.database_url)
        db = Database(settings.resolved_database_url)
        try:
            with db.read() as conn:
                partner = conn.exec_driver_sql("SELECT id FROM partners").scalar_one()
            empty = used_bytes(db)
            register(db, settings, env.customer, partner, count)
            with_jobs = used_bytes(db)
            later = utc_now() + timedelta(days=settings.job_retention_days + 1)
            purged = purge_finished_jobs(
                db, now=later, retention_days=settings.job_retention_days, budget_seconds=600
            )
            assert purged == -(-count // REQUEST_SIZE), purged
            devices_only = used_bytes(db)
        finally:
            db.dispose()
    return (with_jobs - empty) / count, (devices_only - empty) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--devices", type=int, default=20_000)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    hash_chars = len(synthesize_device(0).hardware_hash)
    print(machine_description())
    print(f"{args.devices:,} devices, hashes of {hash_chars:,} characters")
    print(f"{'backend':<12}{'jobs kept':>16}{'jobs purged':>16}   (bytes per device)")
    for backend in backends:
        kept, purged = measure(backend, args.devices)
        print(f"{backend:<12}{kept:>16,.0f}{purged:>16,.0f}")


if __name__ == "__main__":
    main()
