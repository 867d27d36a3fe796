"""Status reads: ETag and 304 for finished jobs, the in-memory fast path, and a constant
number of queries per read whatever the job's size."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device
from tests.support.queries import count_queries
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


def test_finished_status_has_etag_and_answers_304(
    client: TestClient, world: World, worker: Worker
) -> None:
    tracking = create_batch(client, world.customer, world.auth(), "e", [hash_device(1)])
    url = f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
    assert "ETag" not in client.get(url, headers=world.auth()).headers  # still queued
    worker.run_until_idle()
    first = client.get(url, headers=world.auth())  # slow path, fills the cache
    etag = first.headers["ETag"]
    second = client.get(url, headers={**world.auth(), "MS-CorrelationId": "corr-1"})  # fast path
    assert second.content == first.content and second.headers["ETag"] == etag
    assert second.headers["MS-CorrelationId"] == "corr-1"
    for header in ("MS-RequestId", "MS-CV", "MS-ServerId", "Date"):
        assert second.headers.get(header)
    assert second.headers["content-type"] == "application/json; charset=utf-8"
    not_modified = client.get(url, headers={**world.auth(), "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    stale = client.get(url, headers={**world.auth(), "If-None-Match": '"other"'})
    assert stale.status_code == 200


def test_cached_status_is_not_served_to_another_partner_or_without_a_token(
    client: TestClient, world: World, worker: Worker
) -> None:
    tracking = create_batch(client, world.customer, world.auth(), "c", [hash_device(1)])
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
    assert client.get(url, headers=world.auth()).status_code == 200
    assert client.get(url, headers=world.auth()).status_code == 200  # now cached
    assert client.get(url, headers=world.auth(world.other_token)).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def _read_costs(db: Database, settings: Settings, world: World, size: int) -> dict[str, int]:
    """Queries of one uncached status read of a ``size``-device job (two chunks), queued,
    half done and finished; each read's device statuses checked on the way."""
    settings.chunk_size = size // 2
    settings.max_devices_per_request = 10_000
    devices = [hash_device(200_000 + size + i) for i in range(size)]
    counts: dict[str, int] = {}
    with TestClient(create_app(settings, db=db, embedded_worker=False)) as client:
        tracking = create_batch(client, world.customer, world.auth(), f"q{size}", devices)
    url = f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
    for phase in ("queued", "half done", "finished"):
        if phase == "half done":
            assert Worker(db, settings).run_once()
        elif phase == "finished":
            Worker(db, settings).run_until_idle()
        # A fresh app each time: no in-memory cache, so this is the database path.
        with TestClient(create_app(settings, db=db, embedded_worker=False)) as client:
            with count_queries(db) as statements:
                response = client.get(url, headers=world.auth())
            assert response.status_code == 200
            statuses = [d["status"] for d in response.json()["devicesStatus"]]
            counts[phase] = len(statements)
        expected = {
            "queued": ["queued"] * size,
            "half done": ["finished"] * (size // 2) + ["queued"] * (size // 2),
            "finished": ["finished"] * size,
        }
        assert statuses == expected[phase]
    return counts


def test_status_read_costs_the_same_queries_whatever_the_size(
    db: Database, settings: Settings, world: World
) -> None:
    """10 and 10,000 devices: the same number of queries in every phase (relationship,
    job, and while unfinished its chunks, items and done chunks' parts), never per device."""
    small = _read_costs(db, settings, world, 10)
    large = _read_costs(db, settings, world, 10_000)
    assert large == small
    assert small["finished"] <= small["queued"]  # a finished job reads its stored document


def test_the_process_that_accepted_a_job_answers_its_polls_without_reading_items_back(
    db: Database, settings: Settings, world: World
) -> None:
    devices = [hash_device(300_000 + i) for i in range(20)]
    with TestClient(create_app(settings, db=db, embedded_worker=False)) as accepting:
        tracking = create_batch(accepting, world.customer, world.auth(), "s", devices)
        url = f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
        with count_queries(db) as statements:
            seeded = accepting.get(url, headers=world.auth())
    assert not any("job_items" in statement for statement in statements)
    with TestClient(create_app(settings, db=db, embedded_worker=False)) as other:
        from_database = other.get(url, headers=world.auth())
    assert seeded.status_code == from_database.status_code == 200
    assert seeded.content == from_database.content  # byte for byte
    assert [d["serialNumber"] for d in seeded.json()["devicesStatus"]] == [
        d["SerialNumber"] for d in devices
    ]
