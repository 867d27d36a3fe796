"""Throttling as Partner Center answers it, per partner and per partner+customer; shared by
several API processes through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.support.api import create_batch, hash_device, status_of
from tests.support.emulator import operator_auth
from tests.support.live_server import free_port
from tests.support.waiting import STARTUP_SECONDS
from tests.support.world import World
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

pytestmark = pytest.mark.timing  # wall-clock bounds: run alone (Makefile)


def test_partner_and_customer_buckets(client: TestClient, world: World, settings: Settings) -> None:
    op = operator_auth(settings, world)
    body = {
        "partner": {"requests": 4, "perSeconds": 60},
        "customer": {"requests": 2, "perSeconds": 60},
        "rateLimitHeaders": True,
    }
    assert client.put("/_ztd/v1/throttling", json=body, headers=op).status_code == 200
    mine = f"/v1/customers/{world.customer}/deviceBatches"
    sibling = f"/v1/customers/{world.sibling_customer}/deviceBatches"
    first = client.get(mine, headers=world.auth())
    assert first.status_code == 200 and first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    assert client.get(mine, headers=world.auth()).status_code == 200
    over = client.get(mine, headers=world.auth())  # the customer's bucket is empty
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.json() == {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {over.headers['Retry-After']} seconds.",
    }
    assert "ms-requestid" in over.headers
    assert client.get(sibling, headers=world.auth()).status_code == 200  # partner: 4th
    assert client.get(sibling, headers=world.auth()).status_code == 429  # partner's is empty
    theirs = f"/v1/customers/{world.other_customer}/deviceBatches"
    assert client.get(theirs, headers=world.auth(world.other_token)).status_code == 200
    assert client.get("/healthz").status_code == 200  # probes are never throttled
    state = client.get("/_ztd/v1/throttling", headers=op).json()
    assert state["partner"] == {"requests": 4, "perSeconds": 60}
    buckets = {
        (b["scope"], b["partnerId"], b.get("customerId")): b["remaining"] for b in state["buckets"]
    }
    assert buckets[("partner", world.partner, None)] == 0  # the refused third call counted
    assert buckets[("customer", world.partner, world.customer)] == 0
    assert buckets[("partner", world.other_partner, None)] == 3
    assert client.put("/_ztd/v1/throttling", json={}, headers=op).json()["partner"] is None
    assert client.get(mine, headers=world.auth()).status_code == 200
    bad = client.put(
        "/_ztd/v1/throttling", json={"partner": {"requests": 0, "perSeconds": 1}}, headers=op
    )
    assert bad.status_code == 400 and "partner.requests" in bad.json()["description"]
    for limit, field in (
        ({"requests": 3, "perSeconds": 1_000_000_000}, "customer.perSeconds"),  # 31 years
        ({"requests": 100_001, "perSeconds": 60}, "customer.requests"),
    ):
        too_big = client.put("/_ztd/v1/throttling", json={"customer": limit}, headers=op)
        assert too_big.status_code == 400 and field in too_big.json()["description"]
    state_after = client.get("/_ztd/v1/throttling", headers=op).json()
    assert state_after["customer"] is None  # nothing half-set


def test_a_reset_of_everything_empties_the_buckets(
    client: TestClient, world: World, settings: Settings
) -> None:
    """The database's buckets are part of the world a reset deletes (a test suite starts
    from a known world); a partner's reset leaves them."""
    op = operator_auth(settings, world)
    body = {"partner": {"requests": 2, "perSeconds": 60}}
    mine = f"/v1/customers/{world.customer}/deviceBatches"

    def throttled_after(reset: dict[str, object]) -> int:
        assert client.put("/_ztd/v1/throttling", json=body, headers=op).status_code == 200
        for _ in range(2):
            client.get(mine, headers=world.auth())
        assert client.post("/_ztd/v1/reset", json=reset, headers=op).status_code == 200
        assert client.put("/_ztd/v1/throttling", json=body, headers=op).status_code == 200
        return client.get(mine, headers=world.auth()).status_code

    assert throttled_after({"partnerId": world.other_partner}) == 429
    assert throttled_after({"keepTenants": True}) == 200
    buckets = client.get("/_ztd/v1/throttling", headers=op).json()["buckets"]
    assert [(b["scope"], b["remaining"]) for b in buckets] == [("partner", 1)]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent on ``db``'s engines inside the block."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    for engine in {db.read_engine, db.write_engine}:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in {db.read_engine, db.write_engine}:
            event.remove(engine, "before_cursor_execute", record)


def _throttle_queries(sent: list[str]) -> list[str]:
    return [s for s in sent if "emulator_throttle_hits" in s or "advisory" in s]


def test_unthrottled_requests_cost_no_throttling_query(
    client: TestClient, db: Database, world: World, settings: Settings
) -> None:
    """Throttling is off unless configured: then the database storage (the default) is never
    asked, on reads, status polls or uploads; once on, each throttled call asks it."""
    assert settings.throttle_storage == "database"
    batches = f"/v1/customers/{world.customer}/deviceBatches"
    with statements(db) as sent:
        for _ in range(3):
            assert client.get(batches, headers=world.auth()).status_code == 200
        tracking = create_batch(
            client, world.customer, world.auth(), "unthrottled", [hash_device(1)]
        )
        status_of(client, world.customer, tracking, world.auth())
    assert sent and _throttle_queries(sent) == []
    op = operator_auth(settings, world)
    body = {"partner": {"requests": 100, "perSeconds": 60}}
    assert client.put("/_ztd/v1/throttling", json=body, headers=op).status_code == 200
    with statements(db) as sent:
        assert client.get(batches, headers=world.auth()).status_code == 200
    assert _throttle_queries(sent)  # the check above would see them


LIMIT, WINDOW, RUN = 10, 10, 30.0  # the acceptance: 10 requests / 10 s, over 30 s


@contextmanager
def serving(
    settings: Settings, tmp_path: Path, extra_env: dict[str, str], *args: list[str]
) -> Iterator[list[str]]:
    """One `ztd serve` per ``args`` (its options besides the port) on ``settings``' database
    and data directory; their base URLs once each answers /readyz."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env |= {"ZTD_DATABASE_URL": settings.database_url, "ZTD_DATA_DIR": str(settings.data_dir)}
    env |= extra_env
    ports = [free_port() for _ in args]
    logs = [tmp_path / f"serve-{port}.log" for port in ports]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "ztd", "serve", *options, f"--port={port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            cwd=Path(__file__).resolve().parents[3],
        )
        for port, log, options in zip(ports, logs, args, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + STARTUP_SECONDS  # the two start side by side
        for url, server, log in zip(urls, servers, logs, strict=True):
            while True:
                try:
                    if httpx.get(url + "/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, f"ztd serve exited: {log.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the API processes did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(10)


API_ONLY = ["--no-worker", "--workers=1"]


@pytest.fixture
def two_api_processes(settings: Settings, world: World, tmp_path: Path) -> Iterator[list[str]]:
    """Two `ztd serve --no-worker` processes on one PostgreSQL database, counting in Redis."""
    env = {
        "ZTD_THROTTLE_PARTNER": f"{LIMIT}/{WINDOW}",
        "ZTD_THROTTLE_STORAGE": os.environ.get("ZTD_TEST_REDIS", "redis://127.0.0.1:6379/0"),
    }
    with serving(settings, tmp_path, env, API_ONLY, API_ONLY) as urls:
        yield urls


@dataclass(frozen=True)
class Call:
    sent: float  # monotonic seconds, this test process's clock
    answered: float
    server: str
    status: int
    retry_after: int | None


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_processes_together_hold_10_per_10_seconds_for_30_seconds(
    two_api_processes: list[str], world: World
) -> None:
    """Four clients, two on each process, ask ~80 times a second for 30 s: together they
    get the partner's 30 requests, the rest 429 with a Retry-After that says when the
    moving window admits a request again."""
    path = f"/v1/customers/{world.customer}/deviceBatches"
    calls: list[Call] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    end = start + RUN

    def hammer(url: str) -> None:
        with httpx.Client(base_url=url, headers=world.auth(), timeout=10) as http:
            while time.monotonic() < start:
                time.sleep(0.005)
            while (sent := time.monotonic()) < end:
                response = http.get(path)
                wait = response.headers.get("Retry-After")
                call = Call(sent, time.monotonic(), url, response.status_code, wait and int(wait))
                if call.status == 429:
                    body = f"Rate limit is exceeded. Try again in {wait} seconds."
                    assert response.json() == {"statusCode": 429, "message": body}
                else:
                    assert call.status == 200, response.text
                with lock:
                    calls.append(call)
                time.sleep(0.05)

    threads = [threading.Thread(target=hammer, args=(url,)) for url in two_api_processes * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls.sort(key=lambda c: c.sent)
    accepted = [c for c in calls if c.status == 200]
    refused = [c for c in calls if c.status == 429]
    limit = LIMIT * RUN / WINDOW
    assert abs(len(accepted) - limit) <= 0.1 * limit, (len(accepted), len(calls))
    # Both processes admitted and refused: one count, shared (alone, each would admit 30).
    assert {c.server for c in accepted} == {c.server for c in refused} == set(two_api_processes)
    # No 11 admitted within one window: the server admitted each between sent and answered.
    for i in range(len(accepted) - LIMIT):
        group = accepted[i : i + LIMIT + 1]
        assert max(c.answered for c in group) - group[0].sent >= WINDOW, group
    # Retry-After (whole seconds, rounded up) says when the window frees a place: requests
    # admitted after the 429 are not admitted 1 s or more before that, and one is admitted
    # soon after it (the clients ask every ~50 ms; room for latency on a loaded machine).
    slack = 1.5
    for call in refused:
        assert call.retry_after is not None and 1 <= call.retry_after <= WINDOW
        freed_at = call.sent + call.retry_after
        later = [c for c in accepted if c.sent > call.answered]
        assert all(c.answered > freed_at - 1 for c in later), (call, later[:1])
        due = call.answered + call.retry_after + slack
        if due < end:
            assert any(call.answered < c.answered and c.sent <= due for c in accepted), call


# The tryout's numbers: PUT {"partner": {"requests": 3, "perSeconds": ...}}, then 10 calls.
REQUESTS, SECONDS = 3, 4


def _throttle_partner(urls: list[str], op: dict[str, str]) -> None:
    """PUT the partner limit through the first process; return once every process has read
    it (each refreshes its controls within a second)."""
    limit = {"requests": REQUESTS, "perSeconds": SECONDS}
    body = {"partner": limit, "rateLimitHeaders": True}
    assert httpx.put(urls[0] + "/_ztd/v1/throttling", json=body, headers=op).status_code == 200
    deadline = time.monotonic() + 10
    for url in urls:
        while httpx.get(url + "/_ztd/v1/throttling", headers=op).json()["partner"] != limit:
            assert time.monotonic() < deadline, f"{url} did not read the throttling"
            time.sleep(0.1)


def _statuses(world: World, urls: list[str]) -> tuple[list[int], list[str]]:
    """GET the customer's device batches once on each of ``urls`` in turn: the statuses and
    the RateLimit-Remaining headers."""
    path = f"/v1/customers/{world.customer}/deviceBatches"
    answers = [httpx.get(url + path, headers=world.auth()) for url in urls]
    for answer in answers:
        if answer.status_code == 429:
            assert 1 <= int(answer.headers["Retry-After"]) <= SECONDS
    return [a.status_code for a in answers], [a.headers["RateLimit-Remaining"] for a in answers]


def test_two_processes_count_one_window_in_the_database(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    """ZTD_THROTTLE_STORAGE unset (the database): two `ztd serve` processes on one SQLite
    file or PostgreSQL database admit exactly N in any S seconds between them, whichever
    process answers the (N+1)th; the window moves on after S seconds; GET reports the
    shared bucket on either process."""
    op = operator_auth(settings, world)
    with serving(settings, tmp_path, {}, API_ONLY, API_ONLY) as (a, b):
        _throttle_partner([a, b], op)
        statuses, remaining = _statuses(world, [a, b] * 5)
        assert statuses == [200] * REQUESTS + [429] * (10 - REQUESTS)
        assert remaining == ["2", "1", "0"] + ["0"] * (10 - REQUESTS)
        for url in (a, b):  # a admitted two, b one: each reports the bucket all three filled
            state = httpx.get(url + "/_ztd/v1/throttling", headers=op).json()
            [bucket] = [x for x in state["buckets"] if x["partnerId"] == world.partner]
            assert bucket["scope"] == "partner" and bucket["remaining"] == 0
            assert (bucket["limit"], bucket["perSeconds"]) == (REQUESTS, SECONDS)
            assert 1 <= bucket["resetAfter"] <= SECONDS
        time.sleep(SECONDS + 0.2)  # every admitted request has left the window
        statuses, remaining = _statuses(world, [b, b, b, a, b])
        assert statuses == [200] * REQUESTS + [429] * 2  # the 4th on the other process
        assert remaining == ["2", "1", "0", "0", "0"]


def test_the_default_serve_holds_the_limit(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    """The tryout's command: `ztd serve` with its API processes (two here, as on a two-core
    machine) and embedded worker, no throttle storage set: 10 calls, exactly 3 admitted."""
    op = operator_auth(settings, world)
    with serving(settings, tmp_path, {}, ["--workers=2"]) as (url,):
        _throttle_partner([url], op)
        time.sleep(1.2)  # past REFRESH_SECONDS: the process that did not answer reads it too
        statuses, _ = _statuses(world, [url] * 10)
        assert statuses == [200] * REQUESTS + [429] * (10 - REQUESTS)
