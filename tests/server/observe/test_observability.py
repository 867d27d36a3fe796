"""Metrics and structured logs, through the real app and a real worker."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import create_batch, hash_device, status_of
from tests.support.emulator import add_fault, operator_auth
from tests.support.world import World
from ztd.server.clock import utc_now
from ztd.server.jobs import leases
from ztd.server.jobs.worker import Worker
from ztd.server.observe import logs
from ztd.server.observe.http import STATUS_ROUTE
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import job_chunks

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_an_upload_its_outcomes_and_its_latency(
    client: TestClient, worker: Worker, world: World
) -> None:
    before = scrape(client)
    # 120 devices in chunks of 50: 3 chunks, one device sent twice, one hash broken.
    devices = [hash_device(i) for i in range(118)] + [hash_device(0), {"HardwareHash": "AAAA"}]
    tracking = create_batch(client, world.customer, world.auth(), "counted", devices)

    queued = scrape(client)
    assert value(queued, "ztd_job_chunks", state="queued") == 3
    assert value(queued, "ztd_jobs", state="queued") == 1
    assert value(queued, "ztd_oldest_queued_chunk_age_seconds") >= 0

    assert worker.run_until_idle() == 3
    # A second upload of two registered devices: 806 each, through the worked-out path.
    again = create_batch(client, world.customer, world.auth(), "again", devices[:2])
    assert worker.run_until_idle() == 1
    assert status_of(client, world.customer, tracking, world.auth())["status"] == "finished"
    assert status_of(client, world.customer, again, world.auth())["status"] == "finished"
    status_of(client, world.customer, again, world.auth())  # cached now: the fast lane answers

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("ztd_devices_processed_total", kind="upload", outcome="ok") == 118
    assert delta("ztd_devices_processed_total", kind="upload", outcome="802") == 1
    assert delta("ztd_devices_processed_total", kind="upload", outcome="ZtdDeviceDuplicated") == 1
    assert delta("ztd_devices_processed_total", kind="upload", outcome="806") == 2
    assert delta("ztd_job_latency_seconds_count", kind="upload") == 2
    assert delta("ztd_job_chunk_duration_seconds_count", kind="upload") == 4
    create_route = "/v1/customers/{customer_id}/deviceBatches"
    assert delta("ztd_http_requests_total", route=create_route, method="POST", status="202") == 2
    assert delta("ztd_http_request_duration_seconds_count", route=create_route) == 2
    polls = delta("ztd_http_requests_total", route=STATUS_ROUTE, method="GET", status="200")
    assert polls == 3  # the fast lane's answer is counted under the same route
    assert value(after, "ztd_job_chunks", state="queued") == 0
    assert value(after, "ztd_oldest_queued_chunk_age_seconds") == 0
    # No tenant id in any label.
    for _name, labels in after:
        for _key, label_value in labels:
            assert world.customer not in label_value and world.partner not in label_value


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    before = scrape(client)
    for n in range(3):
        assert client.get(f"/no/such/path/{n}").status_code == 404
    after = scrape(client)
    key = (
        "ztd_http_requests_total",
        frozenset({"route": "unmatched", "method": "GET", "status": "404"}.items()),
    )
    assert after[key] - before.get(key, 0) == 3


def test_reaper_counts_expired_leases_it_rescues(
    client: TestClient, worker: Worker, world: World, db: Database
) -> None:
    create_batch(client, world.customer, world.auth(), "lost", [hash_device(1)])
    with db.write() as conn:
        lease = leases.claim(conn, owner="gone", now=worker.clock(), lease_seconds=5)
    assert lease is not None
    before = scrape(client)
    expired = utc_now() + timedelta(seconds=60)
    worker.clock = lambda: expired
    worker.reap()
    after = scrape(client)
    assert value(after, "ztd_lease_expiries_total") - value(before, "ztd_lease_expiries_total") == 1
    assert value(after, "ztd_reaper_rescues_total") - value(before, "ztd_reaper_rescues_total") == 1


# Structured logs.


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines to a buffer, as `ZTD_LOG_FORMAT=json` does."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize("backend", ["sqlite"])  # the log path is the same on both
@pytest.mark.parametrize("leased", [True, False])
def test_the_reaper_logs_each_chunk_it_rescues(
    client: TestClient,
    worker: Worker,
    world: World,
    db: Database,
    json_lines: io.StringIO,
    backend: str,
    leased: bool,
) -> None:
    """Found in a tryout: a rescue counted on /metrics only. Each rescued chunk is one line:
    which job and chunk, whose it was, why, and the attempt that comes next."""
    worker.settings.chunk_size = 1
    tracking = create_batch(
        client, world.customer, world.auth(), "lost", [hash_device(1), hash_device(2)]
    )
    with db.write() as conn:
        for _ in range(2):
            assert leases.claim(conn, owner="host:4242:gone", now=worker.clock(), lease_seconds=5)
        if not leased:  # a chunk left running without a lease (see test_jobs)
            conn.execute(job_chunks.update().values(lease_owner=None, lease_expires_at=None))
    expired = utc_now() + timedelta(seconds=60)
    worker.clock = lambda: expired
    worker.reap()

    rescues = [line for line in parsed(json_lines) if "rescued" in line["message"]]
    assert [line["chunk"] for line in rescues] == [0, 1]
    for line in rescues:
        assert line["logger"] == "ztd.worker" and line["level"] == "warning"
        assert line["tracking_id"] == tracking and line["attempt"] == 2
        assert line["previous_owner"] == ("host:4242:gone" if leased else None)
        assert line["reason"] == ("lease expired" if leased else "no lease")
    assert rescues[0]["message"] == (
        f"rescued chunk 0 of job {tracking} from "
        + ("host:4242:gone (lease expired)" if leased else "no owner (no lease)")
        + f"; attempt 2 of {worker.settings.max_attempts} next"
    )


@pytest.mark.parametrize("backend", ["sqlite"])  # the log path is the same on both
def test_an_uploads_correlation_id_reaches_the_workers_device_lines(
    client: TestClient, worker: Worker, world: World, json_lines: io.StringIO, backend: str
) -> None:
    correlation = "6b0ad1f4-0b59-4c8e-9d0a-4f1f2c7a9e11"
    devices = [hash_device(i) for i in range(60)] + [{"HardwareHash": "AAAA"}]
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": "traced", "Devices": devices},
        headers={**world.auth(), "MS-CorrelationId": correlation, "MS-RequestId": "req-1"},
    )
    assert response.status_code == 202
    tracking = response.headers["Location"].rsplit("/", 1)[1]
    worker.run_until_idle()

    lines = parsed(json_lines)
    access = [line for line in lines if line["logger"] == "ztd.access" and line["status"] == 202]
    assert len(access) == 1
    assert access[0]["correlation_id"] == correlation
    assert access[0]["request_id"] == "req-1"
    assert access[0]["partner_id"] == world.partner
    assert access[0]["customer_id"] == world.customer
    assert access[0]["tracking_id"] == tracking
    assert access[0]["route"] == "/v1/customers/{customer_id}/deviceBatches"

    chunks = [line for line in lines if line["logger"] == "ztd.worker" and "outcomes" in line]
    assert [line["chunk"] for line in chunks] == [0, 1]
    assert sum(line["outcomes"].get("ok", 0) for line in chunks) == 60
    assert sum(line["outcomes"].get("802", 0) for line in chunks) == 1
    for line in chunks:
        assert line["correlation_id"] == correlation
        assert line["tracking_id"] == tracking
        assert line["partner_id"] == world.partner
        assert line["customer_id"] == world.customer
    finished = [line for line in lines if line["message"].startswith(f"job {tracking} finished")]
    assert len(finished) == 1 and finished[0]["correlation_id"] == correlation


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_generated_correlation_id_is_the_one_logged_and_answered(
    client: TestClient, worker: Worker, world: World, json_lines: io.StringIO, backend: str
) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": "untraced", "Devices": [hash_device(1)]},
        headers=world.auth(),
    )
    worker.run_until_idle()
    answered = response.headers["MS-CorrelationId"]
    lines = parsed(json_lines)
    assert [line["correlation_id"] for line in lines if line["logger"] == "ztd.access"] == [
        answered
    ]
    assert {line["correlation_id"] for line in lines if line["logger"] == "ztd.worker"} == {
        answered
    }


@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_token_or_hardware_hash_reaches_the_log(
    client: TestClient, world: World, json_lines: io.StringIO, backend: str
) -> None:
    device = hash_device(7)
    client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": "secret", "Devices": [device]},
        headers=world.auth(),
    )
    # Code that logs carelessly: an exception message holding a hash and a token.
    log = logging.getLogger("ztd.test")
    try:
        raise ValueError(f"bad row {device['HardwareHash']} sent with Bearer {world.token}")
    except ValueError:
        log.exception("failed with %s", world.token)
    text = json_lines.getvalue()
    assert world.token not in text
    assert device["HardwareHash"] not in text
    assert device["HardwareHash"][:64] not in text
    assert "[redacted]" in text
    assert "bad row" in text  # the rest of the message stays


@pytest.mark.parametrize(
    "secret",
    [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",  # a short JWT
        "Bearer abc.def",  # any bearer credential
        "T0RBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  # base64
    ],
)
def test_scrub_removes_each_kind_of_secret(secret: str) -> None:
    assert secret not in logs.scrub(f"before {secret} after")
    assert logs.scrub(f"before {secret} after").startswith("before ")


def test_ids_stay_readable() -> None:
    text = "job 6b0ad1f4-0b59-4c8e-9d0a-4f1f2c7a9e11 of customer c7f3c849-129f-4b85-a96d"
    assert logs.scrub(text) == text


def test_console_format_is_one_readable_line() -> None:
    record = logging.makeLogRecord(
        {
            "name": "ztd.worker",
            "levelno": 20,
            "levelname": "INFO",
            "msg": "chunk %d done",
            "args": (3,),
        }
    )
    record.correlation_id = "abc"
    line = logs.ConsoleFormatter().format(record)
    assert "INFO" in line and "ztd.worker: chunk 3 done" in line and "correlation_id=abc" in line
    assert "\n" not in line


def test_the_emulators_own_answers_are_logged_and_counted_like_the_apps(
    client: TestClient, world: World, settings: Settings, json_lines: io.StringIO
) -> None:
    """The gate answers some requests itself (a throttled 429, an injected fault, the 404
    that hides /_ztd/): each writes one access line with its ids and is counted, under the
    route template the app would have used (``unmatched`` for paths nobody serves, and for
    the hidden control plane, whose existence the metrics must not tell either)."""
    op = operator_auth(settings, world)
    batches = f"/v1/customers/{world.customer}/deviceBatches"
    batches_route = "/v1/customers/{customer_id}/deviceBatches"
    throttling = {"partner": {"requests": 1, "perSeconds": 60}}
    assert client.put("/_ztd/v1/throttling", json=throttling, headers=op).status_code == 200
    add_fault(client, op, path="/v1/customers/*/deviceBatches/*", method="GET", status=503)
    add_fault(client, op, path="/nothing/*", status=500)
    before = scrape(client)
    json_lines.truncate(0)
    json_lines.seek(0)

    def sent(method: str, path: str, n: int, headers: dict[str, str]) -> int:
        ids = {"MS-CorrelationId": f"corr-{n}", "MS-RequestId": f"req-{n}"}
        response = client.request(method, path, headers={**headers, **ids})
        assert response.headers["MS-RequestId"] == f"req-{n}"  # the headers layer, too
        return response.status_code

    assert sent("GET", batches, 1, world.auth()) == 200  # the partner's one request
    assert sent("GET", batches, 2, world.auth()) == 429  # throttled (the path's case aside)
    assert sent("GET", batches.upper().replace("/V1/", "/v1/"), 3, world.auth()) == 429
    assert client.put("/_ztd/v1/throttling", json={}, headers=op).status_code == 200
    assert sent("GET", f"{batches}/some-batch", 4, world.auth()) == 503  # injected fault
    assert sent("GET", "/nothing/here", 5, {}) == 500  # injected, on a path nobody serves
    assert sent("GET", "/_ztd/v1/faults", 6, world.auth()) == 404  # not an operator
    assert sent("DELETE", "/_ztd/v1/faults", 7, {}) == 404

    expected = {
        "req-1": (batches_route, 200),
        "req-2": (batches_route, 429),
        "req-3": (batches_route, 429),
        "req-4": (batches_route + "/{batch_id}", 503),
        "req-5": ("unmatched", 500),
        "req-6": ("unmatched", 404),
        "req-7": ("unmatched", 404),
    }
    access = [line for line in parsed(json_lines) if line["logger"] == "ztd.access"]
    mine = [line for line in access if line.get("request_id") in expected]
    assert sorted(line["request_id"] for line in mine) == sorted(expected)  # one line each
    for line in mine:
        route, status = expected[line["request_id"]]
        assert (line["route"], line["status"]) == (route, status), line
        assert line["correlation_id"] == "corr-" + line["request_id"][4:]
        assert line["duration_ms"] >= 0
    routed = [line for line in mine if line["route"] != "unmatched"]
    assert {line["customer_id"].lower() for line in routed} == {world.customer}  # as sent

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("ztd_http_requests_total", route=batches_route, method="GET", status="429") == 2
    batch_route = batches_route + "/{batch_id}"
    assert delta("ztd_http_requests_total", route=batch_route, method="GET", status="503") == 1
    assert delta("ztd_http_requests_total", route="unmatched", method="GET", status="500") == 1
    assert delta("ztd_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("ztd_http_requests_total", route="unmatched", method="DELETE", status="404") == 1
    assert delta("ztd_http_request_duration_seconds_count", route=batch_route) == 1
    # Nothing of the control plane's routes counts what its hidden 404s answered (the
    # registry is the process's: other tests' operator calls may have counted 404s there).
    assert not any(
        dict(labels).get("route", "").startswith("/_ztd/")
        and dict(labels)["status"] == "404"
        and after[(name, labels)] != before.get((name, labels), 0.0)
        for (name, labels) in after
        if name == "ztd_http_requests_total"
    )
