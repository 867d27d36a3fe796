"""Reads whose cost must not grow with the registry: every query the read routes send reaches
the large tables (devices, job items, jobs, chunks, batches) through an index, never by
reading the whole table. bench/scale.py measures the same reads on 1,000,000 devices; this
catches a regression in a second (a batch list once counted devices by customer_id, which
no index leads with, and read every device of every customer).

The plans are the databases' own: SQLite's EXPLAIN QUERY PLAN, and PostgreSQL's EXPLAIN with
sequential scans disabled (its tables here are tiny), so that a sequential scan or an index
scan without a condition left in the plan means no index could serve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.server.jobs.worker import Worker
from ztd.server.storage.database import Database

LARGE_TABLES = ("devices", "job_items", "batch_jobs", "job_chunks", "device_batches")


@pytest.fixture
def sent_queries(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements sent while the test runs, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    engines = {db.read_engine, db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield sent
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


def _full_scans(db: Database, statement: str, parameters: Any) -> list[str]:
    """The plan's lines that read one of LARGE_TABLES whole."""
    raw = db.read_engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.is_sqlite:
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            lines = [str(row[-1]) for row in cursor.fetchall()]
            # "SCAN devices", "SCAN d USING COVERING INDEX ...": every row of the table.
            pattern = r"^SCAN ({})\b".format("|".join(LARGE_TABLES))
            return [line for line in lines if re.search(pattern, line.strip())]
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = cursor.fetchone()[0][0]["Plan"]
        return list(_pg_full_scans(plan))
    finally:
        raw.rollback()
        raw.close()


def _pg_full_scans(node: dict[str, Any]) -> Iterator[str]:
    """Sequential scans of a large table, and index scans without a condition (the whole
    index, which is what PostgreSQL falls back to once sequential scans are off)."""
    if node.get("Relation Name") in LARGE_TABLES:
        kind = node["Node Type"]
        if kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        ):
            yield f"{kind} on {node['Relation Name']} ({node.get('Index Name', 'no index')})"
    for child in node.get("Plans", []):
        yield from _pg_full_scans(child)


def test_the_read_routes_reach_the_large_tables_through_indexes(
    client: TestClient,
    db: Database,
    world: World,
    worker: Worker,
    sent_queries: list[tuple[str, Any]],
) -> None:
    auth = world.auth()
    base = f"/v1/customers/{world.customer}"
    three = [hash_device(n) for n in range(3)]
    tracking = create_batch(client, world.customer, auth, "plans", three)
    create_batch(client, world.customer, auth, "second", [hash_device(10)])
    status_of(client, world.customer, tracking, auth)  # unfinished: read from chunks
    worker.run_until_idle()
    sent_queries.clear()  # the reads only, not the upload and the worker

    status_of(client, world.customer, tracking, auth)
    assert client.get(f"{base}/deviceBatches", headers=auth).status_code == 200
    assert client.get(f"{base}/deviceBatches/plans", headers=auth).status_code == 200
    first = client.get(f"{base}/deviceBatches/plans/devices?size=1", headers=auth)
    assert first.status_code == 200, first.text
    items = first.json()["items"]
    device = items[0]["id"]
    assert client.get(f"{base}/deviceBatches/plans/devices/{device}", headers=auth).is_success
    token = first.json().get("continuationToken")
    if token is not None:
        paged = {**auth, "MS-ContinuationToken": token}
        assert client.get(f"{base}/deviceBatches/plans/devices", headers=paged).is_success
    assert client.get(f"{base}/policies", headers=auth).is_success
    assert client.get("/v1/customers", headers=auth).is_success
    # The console's search: a substring no index serves, read within the batch's rows.
    for filters in ("search=abc", "policy=none", f"search=A&policy={device}"):
        url = f"{base}/deviceBatches/plans/devices?size=1&{filters}"
        assert client.get(url, headers=auth).is_success

    assert any("devices" in statement for statement, _ in sent_queries)
    scans = {
        statement: found
        for statement, parameters in sent_queries
        if (found := _full_scans(db, statement, parameters))
    }
    assert not scans, scans


def test_a_device_list_page_reads_no_hash_unless_asked(
    client: TestClient,
    world: World,
    worker: Worker,
    sent_queries: list[tuple[str, Any]],
) -> None:
    """Devices whose job was purged hold their own ~1.5 KB hash: a page must not read it."""
    auth = world.auth()
    create_batch(client, world.customer, auth, "hashes", [hash_device(n) for n in range(2)])
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/deviceBatches/hashes/devices"
    sent_queries.clear()
    assert client.get(url, headers=auth).status_code == 200
    assert not [s for s, _ in sent_queries if "hash_blob" in s or "hardware_hash" in s]
    page = client.get(f"{url}?includeHardwareHash=true", headers=auth).json()
    assert all(item["hardwareHash"] for item in page["items"])
    assert any("hash_blob" in s for s, _ in sent_queries)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_vacuums_devices_after_10000_inserts_whatever_its_size(
    db: Database, backend: str
) -> None:
    """A device page counts its batch through the index alone only once VACUUM has marked
    the rows all-visible; PostgreSQL's default waits for inserts of 20% of the table."""
    with db.read() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'devices'"
        ).scalar_one()
    assert sorted(options) == [
        "autovacuum_vacuum_insert_scale_factor=0",
        "autovacuum_vacuum_insert_threshold=10000",
    ]
