"""Costs as the registry grows: the same work on an empty registry and on one that already
holds 1,000,000 devices across 1,000 customers, measured side by side in one run.

    .venv/bin/python bench/scale.py                          # both backends, 1,000,000 devices
    .venv/bin/python bench/scale.py --backend sqlite --devices 20000 --upload 2000

For each backend two registries are made, each with the same bench partner and customer:
"empty", and "full", into which the devices are loaded first by the fastest bulk path, not
through the API (ztd's own bulk writer: binary COPY on PostgreSQL, executemany in
transactions of 100,000 on SQLite). Loaded devices are in the state a registry settles into
once its jobs are purged (ZTD_JOB_RETENTION_DAYS): each holds its own copy of a real
4,000-character hash (from a pool of synthesized ones; the identity keys are unique), 10
batches a customer. PostgreSQL gets the VACUUM ANALYZE its autovacuum would run after such
a load, and again after the uploads, before the reads. Then one `ztd serve --workers 1` per
registry (SQLite: embedded worker; PostgreSQL: `--no-worker` and one `ztd worker`) on
127.0.0.1, and:

- an upload of N (10,000) new devices, POST to `finished`, alternating between the two
  registries (empty, full, full, empty, ...); the medians are compared;
- a status poll (a finished 10-device job), the first and a middle page of a 10,000-device
  batch's devices, and the customer's batch list: requests interleaved one by one between
  the two registries, so that both see the same machine; their p99s are compared.

Targets: full / empty <= 1.2 for each. Also printed: the database bytes per loaded device.
Stops itself after --max-minutes or on SIGTERM (cleaning up its servers and databases).
Exit codes: 0 all targets met, 1 a target missed, 2 stopped, 3 an uploaded device was
refused (the comparison would be meaningless).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import orjson
from sqlalchemy import bindparam, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import (
    Environment,
    Processes,
    environment,
    free_port,
    machine_description,
    wait_until_up,
)
from ingest import make_devices

from ztd.identity import synthesize_device
from ztd.server.api.device_input import parse_devices
from ztd.server.clock import utc_now
from ztd.server.services import tenancy, uploads
from ztd.server.storage.bulk import db_time, insert_rows
from ztd.server.storage.database import Database
from ztd.server.storage.ids import new_ids
from ztd.server.storage.schema import devices, metadata

TARGET_RATIO = 1.2
LOAD_TRANSACTION = 100_000  # devices per transaction (and per COPY) while loading
BATCHES_PER_CUSTOMER = 10
CUSTOMERS_PER_PARTNER = 100
HASH_POOL = 500  # distinct synthesized hashes the loaded devices take their bytes from
DEVICE_COLUMNS = (
    "id",
    "customer_id",
    "batch_pk",
    "serial_number",
    "hash_blob",
    "hash_length",
    "model_name",
    "manufacturer",
    "hardware_key",
    "pkid_key",
    "job_id",
    "uploaded_at",
)


class InvalidRun(Exception):
    """The run cannot be compared (an upload's device was refused): exit code 3."""


class Stopped(Exception):
    """--max-minutes passed, or SIGTERM: the run stops, cleaning up what it started."""


@dataclass
class Registry:
    """One registry under test: its database, its server, a client with its token."""

    label: str  # "empty" | "full"
    env: Environment
    base: str = ""
    client: httpx.Client | None = None

    @property
    def customer_url(self) -> str:
        return f"{self.base}/v1/customers/{self.env.customer}"

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.client is not None
        response = self.client.get(url, headers=headers)
        response.raise_for_status()
        return response


# --- loading -------------------------------------------------------------------------------


def load_registry(database_url: str, count: int, customers: int) -> float:
    """Register ``count`` devices across ``customers`` new customers straight into the
    database. Returns the seconds it took."""
    started = time.perf_counter()
    pool = _hash_pool()
    db = Database(database_url)
    try:
        batch_pks = _add_customers_and_batches(db, customers)
        per_batch = -(-count // len(batch_pks))
        job_ids = [str(uuid.uuid4()) for _ in batch_pks]  # the purged jobs they came from
        for first in range(0, count, LOAD_TRANSACTION):
            with db.write() as conn:
                if db.is_sqlite:  # a bulk load's own connection: a page cache of 256 MB
                    conn.exec_driver_sql("PRAGMA cache_size=-262144")
                now = db_time(conn, utc_now())
                rows = []
                for n in range(first, min(count, first + LOAD_TRANSACTION)):
                    blob, length, model, maker = pool[n % len(pool)]
                    serial = f"SCALE{n:010d}"
                    batch = n // per_batch
                    rows.append(
                        (
                            batch_pks[batch][0],
                            batch_pks[batch][1],
                            serial,
                            blob,
                            length,
                            model,
                            maker,
                            f"{maker.casefold()}\x1f{serial.casefold()}",
                            f"34{n:011d}",  # synthesized PKIDs start with 33
                            job_ids[batch],
                            now,
                        )
                    )
                ids = new_ids(len(rows))
                insert_rows(
                    conn,
                    devices,
                    DEVICE_COLUMNS,
                    [(i, *row) for i, row in zip(ids, rows, strict=True)],
                )
            print(f"  {min(count, first + LOAD_TRANSACTION):>10,} devices", flush=True)
        if not db.is_sqlite:
            with db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
    finally:
        db.dispose()
    return time.perf_counter() - started


def _hash_pool() -> list[tuple[bytes, int, str, str]]:
    """Stored hashes of real shape: (compact blob, length, model, manufacturer)."""
    machines = [synthesize_device(seed) for seed in range(50_000_000, 50_000_000 + HASH_POOL)]
    wire = [{"serialNumber": m.serial, "hardwareHash": m.hardware_hash} for m in machines]
    pool = []
    for item in uploads.prepare_devices(parse_devices(wire)):
        assert item.hash_blob is not None and item.hash_length is not None, item.precheck_name
        pool.append((item.hash_blob, item.hash_length, item.model_name or "", item.manufacturer))
    return pool  # type: ignore[return-value]


def _add_customers_and_batches(db: Database, count: int) -> list[tuple[str, int]]:
    """``count`` customers (100 to a partner) with their batches: [(customer, batch pk)]."""
    now = utc_now()
    batches = []
    with db.write() as conn:
        partner = ""
        for n in range(count):
            if n % CUSTOMERS_PER_PARTNER == 0:
                partner = tenancy.add_partner(conn, f"Scale Partner {n // 100}", now)
            customer = tenancy.add_customer(conn, f"Scale Customer {n}", partner, now)
            for b in range(BATCHES_PER_CUSTOMER):
                pk = uploads.create_batch(
                    conn, customer_id=customer, batch_id=f"batch-{b}", created_by="scale", now=now
                )
                batches.append((customer, pk))
    return batches


def index_bytes(database_url: str) -> int:
    """Bytes of the indexes on ``devices`` (what every registration probes)."""
    db = Database(database_url)
    try:
        with db.read() as conn:
            if db.is_sqlite:
                names = [i.name for i in devices.indexes] + [
                    row[1] for row in conn.exec_driver_sql("PRAGMA index_list(devices)")
                ]
                found = conn.execute(
                    text("SELECT SUM(pgsize) FROM dbstat WHERE name IN :names").bindparams(
                        bindparam("names", expanding=True)
                    ),
                    {"names": sorted({n for n in names if n})},
                ).scalar_one()
                return int(found or 0)
            return int(conn.execute(text("SELECT pg_indexes_size('devices')")).scalar_one())
    finally:
        db.dispose()


def vacuum_analyze(database_url: str) -> None:
    """What PostgreSQL's autovacuum does within a minute of each upload, done at once so the
    reads do not depend on its timing: devices is vacuumed after every 10,000 inserts
    (migration 0015; the default waited for 20% of the registry, and a device page's count
    of its batch then visited every row of the batch in the table), and the statistics are
    refreshed (without them a table that grew from nothing during the run is planned as if
    still tiny: a device page then sorts its whole batch)."""
    db = Database(database_url)
    try:
        with db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    finally:
        db.dispose()


def used_bytes(database_url: str) -> int:
    """Bytes of the database in use: SQLite's pages less its free list; PostgreSQL's tables
    and indexes (pg_total_relation_size, TOAST included)."""
    db = Database(database_url)
    try:
        with db.read() as conn:
            if db.is_sqlite:
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                free = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
                size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
                return int((pages - free) * size)
            return sum(
                int(conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t}).scalar_one())
                for t in (table.name for table in metadata.sorted_tables)
            )
    finally:
        db.dispose()


# --- measuring -----------------------------------------------------------------------------


@contextlib.contextmanager
def serving(registries: list[Registry], backend: str) -> Iterator[None]:
    procs = Processes()
    try:
        for registry in registries:
            port = free_port()
            registry.base = f"http://127.0.0.1:{port}"
            serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            if backend == "postgresql":
                procs.start([*serve, "--no-worker"], registry.env.env)
                procs.start(["worker"], registry.env.env)
            else:
                procs.start(serve, registry.env.env)
        for registry in registries:
            # Generous: on a machine this loaded a server has taken over a minute to start.
            wait_until_up(registry.base, timeout=240)
            if exited := [p.args for p in procs.procs if p.poll() is not None]:
                raise InvalidRun(f"exited: {exited}")
            registry.client = httpx.Client(
                timeout=300, headers={"Authorization": f"Bearer {registry.env.token}"}
            )
        yield
    finally:
        for registry in registries:
            if registry.client is not None:
                registry.client.close()
        procs.stop()


def upload(registry: Registry, batch: str, batch_devices: list[dict[str, str]]) -> float:
    """POST a new batch and poll its status every 20 ms until `finished`: seconds."""
    body = orjson.dumps({"batchId": batch, "devices": batch_devices})
    assert registry.client is not None
    started = time.perf_counter()
    response = registry.client.post(
        f"{registry.customer_url}/deviceBatches",
        content=body,
        headers={"Content-Type": "application/json", "MS-RequestId": str(uuid.uuid4())},
    )
    response.raise_for_status()
    url = f"{registry.base}/v1{response.headers['Location']}"
    while True:
        status: dict[str, Any] = orjson.loads(registry.get(url).content)
        if status["status"].startswith("finished"):
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    failed = [d for d in status["devicesStatus"] if d["status"] != "finished"]
    if failed:  # a collision with a loaded device would make the comparison meaningless
        raise InvalidRun(f"{registry.label}: {len(failed)} devices failed, e.g. {failed[0]}")
    return seconds


@dataclass
class Read:
    """One read to time: its name and, per registry, the request."""

    name: str
    requests: dict[str, Callable[[], httpx.Response]]


def reads(registries: list[Registry], batch: str, small_jobs: dict[str, str]) -> list[Read]:
    """The reads compared, on the bench customer (the same in both registries)."""
    found: dict[str, dict[str, Callable[[], httpx.Response]]] = {
        "status poll (10-device job)": {},
        "device list, first page": {},
        "device list, middle page": {},
        "batch list": {},
    }
    for r in registries:
        devices_url = f"{r.customer_url}/deviceBatches/{batch}/devices"
        middle = _middle_page_token(r, devices_url)
        found["status poll (10-device job)"][r.label] = _getter(r, small_jobs[r.label])
        found["device list, first page"][r.label] = _getter(r, devices_url)
        found["device list, middle page"][r.label] = _getter(
            r, devices_url, {"MS-ContinuationToken": middle}
        )
        found["batch list"][r.label] = _getter(r, f"{r.customer_url}/deviceBatches")
    return [Read(name, requests) for name, requests in found.items()]


def _getter(
    registry: Registry, url: str, headers: dict[str, str] | None = None
) -> Callable[[], httpx.Response]:
    return lambda: registry.get(url, headers)


def _middle_page_token(registry: Registry, url: str) -> str:
    page = registry.get(url).json()
    pages = -(-page["totalCount"] // max(1, len(page["items"])))
    token = page.get("continuationToken", "")
    for _ in range(pages // 2 - 1):
        token = registry.get(url, {"MS-ContinuationToken": token}).json()["continuationToken"]
    return str(token)


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def time_reads(read: Read, labels: list[str], count: int) -> dict[str, list[float]]:
    """``count`` timings per registry, interleaved request by request (order alternating)."""
    timings: dict[str, list[float]] = {label: [] for label in labels}
    for label in labels:  # warm: connections, caches, the first query's plan
        for _ in range(5):
            read.requests[label]()
    for n in range(count):
        for label in labels if n % 2 == 0 else labels[::-1]:
            started = time.perf_counter()
            read.requests[label]()
            timings[label].append(time.perf_counter() - started)
    return timings


def verdict(ratio: float) -> str:
    return "PASS" if ratio <= TARGET_RATIO else "FAIL"


# --- one backend ---------------------------------------------------------------------------


def run_backend(backend: str, args: argparse.Namespace, fresh: list[dict[str, str]]) -> bool:
    ok = True
    with environment(backend) as empty_env, environment(backend) as full_env:
        empty, full = Registry("empty", empty_env), Registry("full", full_env)
        before = used_bytes(full_env.database_url)
        how = "binary COPY" if backend == "postgresql" else "executemany"
        print(
            f"{backend}: loading {args.devices:,} devices across {args.customers:,} customers"
            f" ({how}, transactions of {LOAD_TRANSACTION:,})",
            flush=True,
        )
        seconds = load_registry(full_env.database_url, args.devices, args.customers)
        per_device = (used_bytes(full_env.database_url) - before) / args.devices
        indexes = index_bytes(full_env.database_url) / args.devices
        print(
            f"{backend}: loaded in {seconds:.1f} s ({args.devices / seconds:,.0f} devices/s);"
            f" {per_device:,.0f} bytes per registered device"
            f" ({per_device * args.devices / 1e9:.2f} GB in all), of which {indexes:,.0f}"
            " in the indexes of devices",
            flush=True,
        )
        with serving([empty, full], backend):
            labels = [empty.label, full.label]
            both = {empty.label: empty, full.label: full}
            small_jobs = {}
            for r in (empty, full):  # warm-up, and the job whose status is polled
                upload(r, "warm-up", fresh[-20:-10])
                small_jobs[r.label] = _polled_job(r, fresh[-10:])
            times: dict[str, list[float]] = {label: [] for label in labels}
            for n in range(args.repeat):
                batch_devices = fresh[n * args.upload : (n + 1) * args.upload]
                for label in labels if n % 2 == 0 else labels[::-1]:
                    times[label].append(upload(both[label], f"upload-{n}", batch_devices))
            medians = {label: statistics.median(times[label]) for label in labels}
            ratio = medians["full"] / medians["empty"]
            ok &= ratio <= TARGET_RATIO
            runs = ", ".join(
                f"{label} " + " ".join(f"{t:.2f}" for t in times[label]) for label in labels
            )
            print(
                f"{backend:<10} upload {args.upload:,} devices"
                f"{'':<8} empty {medians['empty']:7.2f} s   full {medians['full']:7.2f} s"
                f"   ratio {ratio:4.2f} (target <= {TARGET_RATIO}) {verdict(ratio)}"
                f"   medians of {args.repeat}: {runs}",
                flush=True,
            )
            if backend == "postgresql":  # what autovacuum does within a minute
                for r in (empty, full):
                    vacuum_analyze(r.env.database_url)
            for read in reads([empty, full], f"upload-{args.repeat - 1}", small_jobs):
                timings = time_reads(read, labels, args.requests)
                p99s = {label: p99(timings[label]) * 1000 for label in labels}
                p50s = {label: statistics.median(timings[label]) * 1000 for label in labels}
                ratio = p99s["full"] / p99s["empty"]
                ok &= ratio <= TARGET_RATIO
                print(
                    f"{backend:<10} {read.name:<30}"
                    f" empty p99 {p99s['empty']:6.2f} ms   full p99 {p99s['full']:6.2f} ms"
                    f"   ratio {ratio:4.2f} (target <= {TARGET_RATIO}) {verdict(ratio)}"
                    f"   p50 {p50s['empty']:.2f} / {p50s['full']:.2f} ms,"
                    f" {args.requests} requests each",
                    flush=True,
                )
    return ok


def _polled_job(registry: Registry, small: list[dict[str, str]]) -> str:
    """Upload ``small`` into a batch of its own: the finished job whose status is polled."""
    assert registry.client is not None
    response = registry.client.post(
        f"{registry.customer_url}/deviceBatches",
        content=orjson.dumps({"batchId": "polled", "devices": small}),
        headers={"Content-Type": "application/json"},
    )
    response.raise_for_status()
    url = f"{registry.base}/v1{response.headers['Location']}"
    while not registry.get(url).json()["status"].startswith("finished"):
        time.sleep(0.02)
    return url


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--devices", type=int, default=1_000_000, help="devices loaded")
    parser.add_argument("--customers", type=int, help="default: one per 1,000 devices")
    parser.add_argument("--upload", type=int, default=10_000, help="devices per timed upload")
    parser.add_argument("--repeat", type=int, default=5, help="timed uploads per registry")
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per read")
    parser.add_argument("--max-minutes", type=float, default=60)
    args = parser.parse_args()
    args.customers = args.customers or max(1, args.devices // 1000)
    if args.devices < 1 or args.upload < 10 or args.repeat < 1 or args.requests < 100:
        parser.error("needs --devices >= 1, --upload >= 10, --repeat >= 1, --requests >= 100")

    def stop(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGALRM:
            raise Stopped(f"stopped after --max-minutes {args.max_minutes}")
        raise Stopped(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGALRM, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.setitimer(signal.ITIMER_REAL, args.max_minutes * 60)
    print(f"machine: {machine_description()}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"synthesizing {args.upload * args.repeat + 20:,} devices to upload ...", flush=True)
    fresh = make_devices(args.upload * args.repeat + 20, offset=1_000_000)
    gc.freeze()  # the client shares the cores with the servers: no walks over these
    ok = True
    try:
        for backend in backends:
            ok &= run_backend(backend, args, fresh)
    except Stopped as stopped:
        print(stopped, file=sys.stderr)
        return 2
    except InvalidRun as invalid:
        print(invalid, file=sys.stderr)
        return 3
    print("all targets met" if ok else "a target was missed", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
