"""`ztd serve --workers 2`, real processes: /metrics adds up both processes' counts
(prometheus-client's multiprocess mode, set up by serve itself), and the log is JSON lines
when stderr is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.live_server import free_port
from tests.support.waiting import STARTUP_SECONDS, wait_for_http, wait_until

SERVE = [sys.executable, "-m", "ztd", "serve", "--workers", "2", "--no-worker"]  # default server


def _healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ztd_http_requests_total" and sample.labels["route"] == "/healthz":
                return sample.value
    return 0.0


@pytest.mark.slow
def test_two_processes_report_one_sum_and_log_json(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZTD_", "PROMETHEUS_"))}
    env["ZTD_DATA_DIR"] = str(tmp_path / ".ztd")
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", process, log_path)
        # serve's own probe (its `ready:` line) and the wait above are counted too.
        wait_until(
            lambda: "ready: " in log_path.read_text(), timeout=STARTUP_SECONDS, message="no ready"
        )
        before = _healthz_count(httpx.get(f"{base}/metrics", timeout=5).text)
        assert before >= 2
        for _ in range(40):  # a fresh connection each: both processes take some
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        # Whichever process answers the scrape reports the sum of both.
        counts = {_healthz_count(httpx.get(f"{base}/metrics", timeout=5).text) for _ in range(4)}
        assert counts == {before + 40}
    finally:
        process.terminate()
        process.wait(20)
    access = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            record = orjson.loads(line)
            if record["logger"] == "ztd.access":
                access.append(record)
    assert len([r for r in access if r["route"] == "/healthz"]) == before + 40
    assert all(r["correlation_id"] and r["request_id"] and r["pid"] for r in access)
    print("answered by processes", sorted({r["pid"] for r in access}))


@pytest.mark.slow
def test_a_standalone_worker_serves_its_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZTD_", "PROMETHEUS_"))}
    env["ZTD_DATA_DIR"] = str(tmp_path / ".ztd")
    worker = subprocess.Popen(
        [sys.executable, "-m", "ztd", "worker", "--metrics-port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        text = wait_for_http(f"http://127.0.0.1:{port}/metrics", worker).text
        names = {family.name for family in text_string_to_metric_families(text)}
        assert {"ztd_lease_expiries", "ztd_devices_processed", "ztd_job_latency_seconds"} <= names
    finally:
        worker.terminate()
        assert worker.wait(20) == 0
