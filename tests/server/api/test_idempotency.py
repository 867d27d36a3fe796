"""MS-RequestId makes writes idempotent, also under concurrent duplicates."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.api import assert_error, hash_device
from tests.support.live_server import live_server
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, device_batches, idempotency_records

REQUEST_ID = "c245d5f2-1de3-4ae0-9e42-95e38e3cb8ff"


def _post_at_once(
    senders: int, url: str, body: Mapping[str, object], headers: dict[str, str]
) -> list[httpx.Response]:
    """``senders`` threads POST the same request, released together by a barrier so that
    they race for the same MS-RequestId."""
    responses: list[httpx.Response] = []
    barrier = threading.Barrier(senders)

    def send() -> None:
        barrier.wait()
        responses.append(httpx.post(url, json=body, headers=headers, timeout=30))

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_same_create_five_times_four_concurrently_yields_one_job(
    db: Database, settings: Settings, world: World
) -> None:
    body = {"BatchId": "once", "Devices": [hash_device(i) for i in range(20)]}
    headers = {**world.auth(), "MS-RequestId": REQUEST_ID}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    app = create_app(settings, db=db, embedded_worker=False)
    with live_server(app) as base:
        first = httpx.post(base + url, json=body, headers=headers, timeout=30)
        assert first.status_code == 202, first.text
        responses = _post_at_once(4, base + url, body, headers)
    assert [r.status_code for r in responses] == [202] * 4
    assert {r.headers["Location"] for r in responses} == {first.headers["Location"]}
    assert all(r.content == b"" for r in responses)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(device_batches)).scalar() == 1


def test_concurrent_first_requests_produce_one_effect(
    db: Database, settings: Settings, world: World
) -> None:
    body = {"BatchId": "race", "Devices": [hash_device(i) for i in range(20)]}
    headers = {**world.auth(), "MS-RequestId": REQUEST_ID}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    app = create_app(settings, db=db, embedded_worker=False)
    with live_server(app) as base:
        responses = _post_at_once(5, base + url, body, headers)
    assert [r.status_code for r in responses] == [202] * 5
    assert len({r.headers["Location"] for r in responses}) == 1
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 1


def test_same_request_id_with_another_body_is_409(client: TestClient, world: World) -> None:
    headers = {**world.auth(), "MS-RequestId": REQUEST_ID}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    first = client.post(url, json={"batchId": "a", "devices": [hash_device(1)]}, headers=headers)
    assert first.status_code == 202
    other = client.post(url, json={"batchId": "b", "devices": [hash_device(2)]}, headers=headers)
    body = assert_error(other, 409, "409")
    assert "MS-RequestId" in body["description"] and "different request" in body["description"]


def test_large_bodies_are_fingerprinted_exactly(client: TestClient, world: World) -> None:
    """Bodies over 1 MiB are fingerprinted in a background thread: a retry still replays,
    and a different body under the same MS-RequestId is still refused."""
    headers = {**world.auth(), "MS-RequestId": REQUEST_ID}
    url = f"/v1/customers/{world.customer}/deviceBatches"
    devices = [hash_device(n) for n in range(1, 301)]
    body = {"batchId": "big", "devices": devices}
    assert len(str(body)) > 1 << 20
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 202
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 202 and again.headers["Location"] == first.headers["Location"]
    changed = {"batchId": "big", "devices": [*devices[:-1], hash_device(999)]}
    assert_error(client.post(url, json=changed, headers=headers), 409, "409")


def test_request_ids_are_per_partner(client: TestClient, world: World) -> None:
    body = {"batchId": "p", "devices": [hash_device(1)]}
    mine = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json=body,
        headers={**world.auth(), "MS-RequestId": REQUEST_ID},
    )
    theirs = client.post(
        f"/v1/customers/{world.other_customer}/deviceBatches",
        json=body,
        headers={**world.auth(world.other_token), "MS-RequestId": REQUEST_ID},
    )
    assert mine.status_code == theirs.status_code == 202
    assert mine.headers["Location"] != theirs.headers["Location"]


def test_retried_delete_replays_204(client: TestClient, world: World, db: Database) -> None:
    from ztd.server.jobs.worker import Worker

    client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "d", "devices": [hash_device(1)]},
        headers=world.auth(),
    )
    Worker(db, client.app.state.ztd.settings).run_until_idle()  # type: ignore[attr-defined]
    url = f"/v1/customers/{world.customer}/deviceBatches/d/devices"
    [device] = client.get(url, headers=world.auth()).json()["items"]
    headers = {**world.auth(), "MS-RequestId": REQUEST_ID}
    assert client.delete(f"{url}/{device['id']}", headers=headers).status_code == 204
    assert client.delete(f"{url}/{device['id']}", headers=headers).status_code == 204
    assert client.delete(f"{url}/{device['id']}", headers=world.auth()).status_code == 404


def test_expired_records_are_purged(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    from datetime import timedelta

    from ztd.server.clock import utc_now
    from ztd.server.jobs.worker import Worker

    client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "e", "devices": [hash_device(1)]},
        headers={**world.auth(), "MS-RequestId": REQUEST_ID},
    )
    later = utc_now() + timedelta(hours=settings.idempotency_retention_hours + 1)
    Worker(db, settings, clock=lambda: later).reap()
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(idempotency_records)).scalar() == 0
