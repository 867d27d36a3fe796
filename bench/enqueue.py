"""Enqueue benchmark: the write transaction of one 10,000-device upload alone, in process.

    .venv/bin/python bench/enqueue.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/enqueue.py --backend sqlite --repeat 9

bench/ingest.py measures POST -> finished through real server processes; on a loaded
machine its worker phase and process start-up swamp the enqueue step. This one runs
jobs/submit.submit_job (identity checks, batch, job, items, chunks, commit) on parsed
devices and prints, per run, wall and CPU seconds, their medians, and the number of Python
function calls of one profiled run: a count the machine's load does not move, so two
checkouts compared on it show added work even when their times are noise.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import environment, machine_description
from ingest import make_devices

from ztd.server.api.device_input import parse_devices
from ztd.server.api.responses import job_location
from ztd.server.clock import utc_now
from ztd.server.jobs.submit import submit_job
from ztd.server.services import tenancy
from ztd.server.services.uploads import NewBatch, UploadIntake
from ztd.server.storage.database import Database

DEVICES = 10_000


def run(backend: str, wire: list[dict[str, str]], repeat: int) -> None:
    with environment(backend) as env:
        db = Database(env.database_url)
        with db.read() as conn:
            partner = tenancy.list_partners(conn)[0].id

        def enqueue(name: str) -> None:
            intake = UploadIntake(env.customer, NewBatch(name, partner), parse_devices(wire))
            submit_job(
                db,
                intake,
                partner_id=partner,
                customer_id=env.customer,
                key=None,
                retention=timedelta(hours=1),
                chunk_size=1000,
                now=utc_now(),
                location=job_location,
            )

        walls, cpus = [], []
        for n in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            enqueue(f"run-{n}")
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        profile = cProfile.Profile()
        profile.runcall(enqueue, "profiled")
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        db.dispose()
    print(
        f"{backend:10} {len(wire)} devices: wall {' '.join(f'{t:.3f}' for t in walls)} "
        f"(median {statistics.median(walls):.3f} s), CPU median {statistics.median(cpus):.3f} s, "
        f"{calls} function calls",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine_description()}")
    wire = make_devices(DEVICES, offset=1_000_000)
    for backend in args.backend or ["sqlite", "postgresql"]:
        run(backend, wire, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
