"""Status reads: ETag and 304 for finished jobs, the in-memory fast path, one read rule for
cached and uncached polls, caches that follow a reset in another process, and a constant
number of queries per read whatever the job's size."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device
from tests.support.queries import count_queries
from tests.support.world import World, make_token
from ztd.server.app import create_app
from ztd.server.auth.tokens import Principal, Role
from ztd.server.emulator.cache import REFRESH_SECONDS
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.status_reads.component import StatusReads
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


def _refuse_sales_agents(_reads: StatusReads, principal: Principal, _customer_id: str) -> bool:
    return principal.app_only or bool(principal.roles & {Role.ADMIN_AGENT, Role.GLOBAL_ADMIN})


@pytest.mark.parametrize("rule", ["no sales agents", "not this customer"])
def test_a_read_rule_added_to_may_read_holds_for_cached_and_uncached_polls(
    client: TestClient,
    world: World,
    worker: Worker,
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    rule: str,
) -> None:
    sales = world.auth(make_token(settings, world.partner, roles=(Role.SALES_AGENT,)))
    cached = create_batch(client, world.customer, world.auth(), "cached", [hash_device(1)])
    uncached = create_batch(client, world.customer, world.auth(), "uncached", [hash_device(2)])
    elsewhere = create_batch(client, world.sibling_customer, world.auth(), "e", [hash_device(3)])
    worker.run_until_idle()

    def url(customer: str, tracking: str) -> str:
        return f"/v1/customers/{customer}/batchJobStatus/{tracking}"

    for customer, tracking in ((world.customer, cached), (world.sibling_customer, elsewhere)):
        assert client.get(url(customer, tracking), headers=sales).status_code == 200  # fills
        with count_queries(db) as statements:
            assert client.get(url(customer, tracking), headers=sales).status_code == 200
        assert statements == []  # the fast lane answered

    # The one place a read rule is added; both the lane and the route must obey it.
    if rule == "no sales agents":
        monkeypatch.setattr(StatusReads, "may_read", _refuse_sales_agents)
    else:
        refused_customer = world.customer
        monkeypatch.setattr(
            StatusReads, "may_read", lambda _self, _p, customer: customer != refused_customer
        )
    for tracking in (cached, uncached):  # from memory a moment ago / never read before
        refused = client.get(url(world.customer, tracking), headers=sales)
        assert refused.status_code == 403
        assert "lacks the rights to read" in refused.json()["description"]
        upper = client.get(url(world.customer.upper(), tracking.upper()), headers=sales)
        assert upper.status_code == 403  # whatever the spelling
    if rule == "no sales agents":  # others still read from memory
        with count_queries(db) as statements:
            assert client.get(url(world.customer, cached), headers=world.auth()).status_code == 200
        assert statements == []
    else:  # other customers still read from memory
        with count_queries(db) as statements:
            assert (
                client.get(url(world.sibling_customer, elsewhere), headers=sales).status_code == 200
            )
        assert statements == []


def _operator(settings: Settings, world: World) -> dict[str, str]:
    return world.auth(make_token(settings, world.partner, roles=(Role.OPERATOR,)))


@pytest.mark.parametrize("how", ["reset everything", "reset the customer", "import a snapshot"])
def test_after_a_reset_in_one_process_another_stops_answering_cached_statuses(
    db: Database, settings: Settings, world: World, how: str
) -> None:
    operator = _operator(settings, world)
    first = create_app(settings, db=db, embedded_worker=False)
    second = create_app(settings, db=db, embedded_worker=False)
    with TestClient(first) as one, TestClient(second) as other:
        empty = one.get("/_ztd/v1/snapshot", headers=operator).json()  # tenants, no job yet
        tracking = create_batch(one, world.customer, world.auth(), "gone", [hash_device(9)])
        Worker(db, settings).run_until_idle()
        url = f"/v1/customers/{world.customer}/batchJobStatus/{tracking}"
        assert other.get(url, headers=world.auth()).status_code == 200  # fills its cache
        with count_queries(db) as statements:
            assert other.get(url, headers=world.auth()).status_code == 200
        assert statements == []  # from memory

        if how == "import a snapshot":
            done = one.put("/_ztd/v1/snapshot", json=empty, headers=operator)
        else:
            scope = {"customerId": world.customer} if how == "reset the customer" else {}
            done = one.post("/_ztd/v1/reset", json={**scope, "keepTenants": True}, headers=operator)
        assert done.status_code == 200, done.text
        assert one.get(url, headers=world.auth()).status_code == 404  # this process: at once

        # The other process learns it with its next refresh of the emulator's controls, at
        # most REFRESH_SECONDS later: let that time pass for it.
        second.state.emulator.cache.loaded_at -= REFRESH_SECONDS
        gone = other.get(url, headers=world.auth())
        assert gone.status_code == 404, gone.text
        assert other.get(url, headers=world.auth()).status_code == 404
