"""The emulator's control plane (/_ztd/v1/): hidden from partners, outcome rules through the
real job engine, HTTP faults answered in Partner Center's shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.api import create_batch, hash_device, status_of
from tests.support.emulator import add_fault, add_rule, operator_auth, refusal
from tests.support.waiting import wait_until
from tests.support.world import World
from ztd.identity import synthesize_hash
from ztd.server.app import create_app
from ztd.server.clock import utc_now
from ztd.server.emulator.cache import ControlCache
from ztd.server.emulator.journal import Journal
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import devices


def lab_device(seed: int, serial: str) -> dict[str, Any]:
    return {"SerialNumber": serial, "HardwareHash": synthesize_hash(seed, serial=serial)}


def entries(doc: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {d["serialNumber"]: (d["status"], d.get("errorCode")) for d in doc["devicesStatus"]}


# The door: only operators see it, and ZTD_CONTROL_PLANE=false closes it for them too.


def test_control_plane_is_invisible_to_partners(
    client: TestClient, world: World, settings: Settings, db: Database
) -> None:
    op = operator_auth(settings, world)
    assert client.get("/_ztd/v1/rules", headers=op).json() == []
    for headers in (world.auth(), {}, {"Authorization": "Bearer forged"}):
        for method, path in (
            ("GET", "/_ztd/v1/rules"),
            ("DELETE", "/_ztd/v1/faults"),
            ("PATCH", "/_ztd/v1/rules"),
            ("GET", "/_ztd/v1/nothing"),
        ):
            hidden = client.request(method, path, headers=headers)
            missing = client.request(method, path.replace("_ztd", "_nope"), headers=op)
            assert hidden.status_code == missing.status_code == 404
            assert hidden.json() | {"description": ""} == missing.json() | {"description": ""}
            assert hidden.json()["description"] == f"No resource at {path}."
            assert {"ms-requestid", "ms-correlationid", "ms-cv"} <= hidden.headers.keys()
    closed = create_app(
        settings.model_copy(update={"control_plane": False}), db=db, embedded_worker=False
    )
    with TestClient(closed) as other:
        response = other.get("/_ztd/v1/rules", headers=op)
        assert response.status_code == 404
        assert response.json()["description"] == "No resource at /_ztd/v1/rules."


def test_bad_control_bodies_say_which_field(
    client: TestClient, world: World, settings: Settings
) -> None:
    op = operator_auth(settings, world)
    cases = [
        ({"match": {}, "outcome": {"errorCode": "808"}}, "serialNumber"),
        ({"match": {"serialNumber": "*"}, "outcome": {"errorCode": "999"}}, "999"),
        ({"match": {"serialNumber": "*"}, "outcome": {}}, "errorCode"),
        ({"match": {"serialNumber": "*"}, "outcome": {"stayProcessing": {}}}, "polls"),
        ({"match": {"serialNumber": "*"}, "outcome": {"errorCode": "808"}, "bogus": 1}, "bogus"),
    ]
    for body, named in cases:
        assert named in refusal(client, op, "rules", body)
    for body, named in [
        ({"status": 418}, "418"),
        ({"path": "*"}, "status"),
        ({"status": 429, "count": 1, "nth": 2}, "count"),
    ]:
        assert named in refusal(client, op, "faults", body)


# Outcome rules, decided by the job engine.


def test_808_for_lab_serials_in_one_customer_only(
    client: TestClient, world: World, settings: Settings, worker: Worker, db: Database
) -> None:
    op = operator_auth(settings, world)
    add_rule(client, op, {"serialNumber": "LAB-*"}, {"errorCode": "808"}, customerId=world.customer)
    mixed = [lab_device(1, "LAB-1"), lab_device(2, "LAB-2"), lab_device(3, "OFFICE-3")]
    job = create_batch(client, world.customer, world.auth(), "mixed", mixed)
    elsewhere = create_batch(
        client, world.sibling_customer, world.auth(), "other", [lab_device(4, "LAB-4")]
    )
    worker.run_until_idle()
    doc = status_of(client, world.customer, job, world.auth())
    assert doc["status"] == "finished"
    assert entries(doc) == {
        "LAB-1": ("finished_with_errors", "808"),
        "LAB-2": ("finished_with_errors", "808"),
        "OFFICE-3": ("finished", None),
    }
    assert {d["errorDescription"] for d in doc["devicesStatus"] if "errorCode" in d} == {
        "ZtdDeviceAssignedToOtherTenant"
    }
    assert entries(status_of(client, world.sibling_customer, elsewhere, world.auth())) == {
        "LAB-4": ("finished", None)
    }
    with db.read() as conn:  # the refused devices were not registered
        serials = set(conn.execute(select(devices.c.serial_number)).scalars())
    assert serials == {"OFFICE-3", "LAB-4"}


def test_times_and_names_and_deleting_rules(
    client: TestClient, world: World, settings: Settings, worker: Worker, db: Database
) -> None:
    op = operator_auth(settings, world)
    rule = add_rule(
        client, op, {"manufacturer": "DELL INC."}, {"errorCode": "ZtdDeviceDuplicated"}, times=1
    )
    gone = add_rule(client, op, {"serialNumber": "*"}, {"errorCode": "StorageError"})
    assert client.delete(f"/_ztd/v1/rules/{gone}", headers=op).json() == {"deleted": 1}
    assert client.delete(f"/_ztd/v1/rules/{gone}", headers=op).status_code == 404
    dell = [
        lab_device(s, f"D-{s}")
        | {"HardwareHash": synthesize_hash(s, serial=f"D-{s}", manufacturer="Dell Inc.")}
        for s in (1, 2)
    ]
    job = create_batch(client, world.customer, world.auth(), "dells", dell)
    worker.run_until_idle()
    doc = status_of(client, world.customer, job, world.auth())
    assert [d.get("errorDescription") for d in doc["devicesStatus"]] == [
        "ZtdDeviceDuplicated",
        None,
    ]
    listed = client.get("/_ztd/v1/rules", headers=op).json()
    assert [(r["id"], r["remaining"]) for r in listed] == [(rule, 0)]
    assert client.delete("/_ztd/v1/rules", headers=op).json() == {"deleted": 1}


def test_stay_processing_for_three_polls(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    add_rule(client, op, {"serialNumber": "*"}, {"stayProcessing": {"polls": 3}})
    job = create_batch(client, world.customer, world.auth(), "slow", [hash_device(7)])
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/batchJobStatus/{job}"
    for _ in range(3):
        response = client.get(url, headers=world.auth())
        assert response.json()["status"] == "processing"
        assert response.headers["Retry-After"] == "1"
        assert [d["status"] for d in response.json()["devicesStatus"]] == ["processing"]
    for _ in range(2):  # the fourth poll and after (the fast lane too) see it finished
        finished = client.get(url, headers=world.auth()).json()
        assert finished["status"] == "finished" and "completedTime" in finished


@pytest.mark.parametrize(("fail_times", "expected"), [(2, None), (5, "StorageError")])
def test_fail_chunk_times_goes_through_the_engines_retries(
    client: TestClient,
    world: World,
    settings: Settings,
    worker: Worker,
    db: Database,
    fail_times: int,
    expected: str | None,
) -> None:
    op = operator_auth(settings, world)  # settings.max_attempts is 5
    add_rule(client, op, {"serialNumber": "*"}, {"failChunkTimes": fail_times})
    job = create_batch(client, world.customer, world.auth(), "flaky", [hash_device(8)])
    worker.run_until_idle()
    doc = status_of(client, world.customer, job, world.auth())
    assert doc["status"] == "finished"
    assert [d.get("errorDescription") for d in doc["devicesStatus"]] == [expected]
    with db.read() as conn:
        count = conn.execute(select(func.count()).select_from(devices)).scalar_one()
    assert count == (1 if expected is None else 0)


# HTTP faults, answered before the app (the status fast lane included).


@pytest.fixture
def journaled(settings: Settings) -> Settings:
    return settings.model_copy(update={"journal": True})


@pytest.fixture
def jclient(journaled: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(journaled, db=db, embedded_worker=False)) as test_client:
        yield test_client


def test_next_two_status_polls_answer_429_then_succeed(
    jclient: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    job = create_batch(jclient, world.customer, world.auth(), "ok", [hash_device(9)])
    worker.run_until_idle()
    url = f"/v1/customers/{world.customer}/batchJobStatus/{job}"
    assert jclient.get(url, headers=world.auth()).status_code == 200  # now in the fast lane
    add_fault(jclient, op, path="*/batchJobStatus/*", status=429, retryAfter=1, count=2)
    headers = world.auth() | {"MS-CorrelationId": "c0ffee00-0000-4000-8000-000000000001"}
    for _ in range(2):
        throttled = jclient.get(url, headers=headers)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "1"
        assert throttled.json() == {
            "statusCode": 429,
            "message": "Rate limit is exceeded. Try again in 1 seconds.",
        }
        assert throttled.headers["MS-CorrelationId"] == headers["MS-CorrelationId"]
    assert jclient.get(url, headers=headers).status_code == 200
    assert jclient.get("/_ztd/v1/faults", headers=op).json() == []  # spent, gone
    journal = jclient.get(
        "/_ztd/v1/requests", params={"correlationId": headers["MS-CorrelationId"]}, headers=op
    ).json()
    assert [(e["status"], e["path"], bool(e["faultId"])) for e in journal] == [
        (429, url, True),
        (429, url, True),
        (200, url, False),
    ]
    assert {(e["partnerId"], e["customerId"], e["method"]) for e in journal} == {
        (world.partner, world.customer, "GET")
    }
    assert all(e["requestId"] and e["durationMs"] >= 0 for e in journal)


def test_journal_keeps_bodies_bounded_and_never_tokens(
    jclient: TestClient, world: World, settings: Settings, db: Database
) -> None:
    op = operator_auth(settings, world)
    devices_ = [hash_device(s) for s in range(40, 43)]
    create_batch(jclient, world.customer, world.auth(), "journaled", devices_)
    jclient.post(
        "/oauth2/token",
        data={"client_id": "x", "client_secret": "s3cret", "grant_type": "client_credentials"},
    )
    everything = jclient.get("/_ztd/v1/requests", headers=op)
    text = everything.text
    assert world.token not in text and "s3cret" not in text
    posted = [
        e for e in everything.json() if e["method"] == "POST" and "deviceBatches" in e["path"]
    ]
    assert len(posted) == 1 and posted[0]["status"] == 202
    assert posted[0]["bodyExcerpt"].startswith('{"BatchId":"journaled"')
    assert len(posted[0]["bodyExcerpt"]) <= 2048
    assert not any(e["path"].startswith("/_ztd") for e in everything.json())
    journal = Journal(max_entries=2, max_age_seconds=3600)
    with db.write() as conn:
        journal.prune(conn, utc_now())
    assert len(jclient.get("/_ztd/v1/requests", headers=op).json()) == 2
    with db.write() as conn:
        Journal(max_entries=100, max_age_seconds=1).prune(conn, utc_now() + timedelta(seconds=5))
    assert jclient.get("/_ztd/v1/requests", headers=op).json() == []


def test_faults_are_scoped_and_shaped(client: TestClient, world: World, settings: Settings) -> None:
    op = operator_auth(settings, world)
    add_fault(client, op, customerId=world.customer, method="GET", status=503, retryAfter=2)
    add_fault(client, op, partnerId=world.other_partner, status=500, nth=2)
    mine = f"/v1/customers/{world.customer}/deviceBatches"
    unavailable = client.get(mine, headers=world.auth())
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "2"
    assert unavailable.json()["code"] == "503" and "ms-requestid" in unavailable.headers
    sibling = f"/v1/customers/{world.sibling_customer}/deviceBatches"
    assert client.get(sibling, headers=world.auth()).status_code == 200
    theirs = f"/v1/customers/{world.other_customer}/deviceBatches"
    other = world.auth(world.other_token)
    assert [client.get(theirs, headers=other).status_code for _ in range(3)] == [200, 500, 200]
    assert client.delete("/_ztd/v1/faults", headers=op).json() == {"deleted": 1}
    assert client.get(mine, headers=world.auth()).status_code == 200


# Reset and snapshots.


def test_reset_one_customer_leaves_the_others_batches(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    create_batch(client, world.customer, world.auth(), "a", [hash_device(11)])
    create_batch(client, world.sibling_customer, world.auth(), "b", [hash_device(12)])
    worker.run_until_idle()
    theirs = f"/v1/customers/{world.sibling_customer}/deviceBatches"
    before = client.get(theirs, headers=world.auth()).content
    counts = client.post(
        "/_ztd/v1/reset", json={"customerId": world.customer, "keepTenants": True}, headers=op
    ).json()
    assert counts["devices"] == 1 and counts["device_batches"] == 1
    assert client.get(theirs, headers=world.auth()).content == before
    mine = client.get(f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth())
    assert mine.status_code == 200 and mine.json()["totalCount"] == 0
    client.post("/_ztd/v1/reset", json={"customerId": world.customer}, headers=op)
    gone = client.get(f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth())
    assert gone.status_code in (403, 404)
    assert client.get(theirs, headers=world.auth()).content == before


def test_snapshot_export_reset_import_gives_identical_lists(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    job = create_batch(
        client, world.customer, world.auth(), "kept", [hash_device(s) for s in range(21, 24)]
    )
    worker.run_until_idle()
    base = f"/v1/customers/{world.customer}"
    reads = [
        f"{base}/deviceBatches",
        f"{base}/deviceBatches/kept/devices",
        f"{base}/batchJobStatus/{job}",
        "/v1/customers",
    ]
    before = [client.get(url, headers=world.auth()).content for url in reads]
    snapshot = client.get("/_ztd/v1/snapshot", headers=op).json()
    client.post("/_ztd/v1/reset", headers=op)
    assert client.get(reads[0], headers=world.auth()).status_code in (401, 403, 404)
    imported = client.put("/_ztd/v1/snapshot", json=snapshot, headers=op)
    assert imported.status_code == 200 and imported.json()["devices"] == 3
    assert [client.get(url, headers=world.auth()).content for url in reads] == before
    # Ids handed out after the import do not collide with imported ones (PostgreSQL identity).
    create_batch(client, world.customer, world.auth(), "after", [hash_device(30)])
    worker.run_until_idle()
    assert client.get(reads[0], headers=world.auth()).json()["totalCount"] == 2
    snapshot["tables"]["nonsense"] = {"columns": [], "rows": []}
    refused = client.put("/_ztd/v1/snapshot", json=snapshot, headers=op)
    assert refused.status_code == 400 and "tables.nonsense" in refused.json()["description"]


def test_controls_survive_a_database_that_does_not_answer(tmp_path: Path) -> None:
    unmigrated = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables at all
    cache = ControlCache(unmigrated)
    cache.refresh_if_stale_sync()  # logs, keeps "no controls", retries a second later
    assert cache.faults == [] and cache.throttling is None and not cache.stale()
    unmigrated.dispose()


def test_stay_processing_for_seconds(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    # Three seconds: the worker's run and the first read fit in them on a busy machine too.
    add_rule(client, op, {"serialNumber": "*"}, {"stayProcessing": {"seconds": 3}})
    job = create_batch(client, world.customer, world.auth(), "timed", [hash_device(50)])
    before = time.time()  # the hold starts when the worker finishes the job, after this
    worker.run_until_idle()
    assert status_of(client, world.customer, job, world.auth())["status"] == "processing"
    wait_until(
        lambda: status_of(client, world.customer, job, world.auth())["status"] != "processing",
        interval=0.1,
        message="the hold never ended",
    )
    held = time.time() - before
    assert held >= 3.0, f"processing for only {held:.2f} s"


def test_reset_of_one_partner_keeps_the_other_partner(
    client: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    create_batch(client, world.customer, world.auth(), "mine", [hash_device(60)])
    create_batch(client, world.sibling_customer, world.auth(), "mine2", [hash_device(61)])
    theirs_url = f"/v1/customers/{world.other_customer}/deviceBatches"
    create_batch(
        client, world.other_customer, world.auth(world.other_token), "theirs", [hash_device(62)]
    )
    add_rule(client, op, {"serialNumber": "*"}, {"errorCode": "808"}, partnerId=world.partner)
    worker.run_until_idle()
    before = client.get(theirs_url, headers=world.auth(world.other_token)).content
    counts = client.post("/_ztd/v1/reset", json={"partnerId": world.partner}, headers=op).json()
    assert counts["partners"] == 1 and counts["customers"] == 2 and counts["emulator_rules"] == 1
    assert client.get(theirs_url, headers=world.auth(world.other_token)).content == before
    gone = client.get(f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth())
    assert gone.status_code in (401, 403, 404)
