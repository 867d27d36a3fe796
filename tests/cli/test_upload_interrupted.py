"""Ctrl-C during an upload sent in several requests: a real `ztd upload` process gets SIGINT
while a request is in flight (the emulator makes it slow) and says what the service
accepted (batch, tracking ids, how to follow them) and what was not sent. A tryout's run
ended at the file check's warning, though the batch existed and its jobs ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.emulator import operator_auth
from tests.support.live_server import live_server
from tests.support.world import World
from ztd.identity import synthesize_device
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, emulator_faults

pytestmark = pytest.mark.slow


def faults_left(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(emulator_faults)).scalar_one())


def jobs_in(db: Database) -> list[str]:
    with db.read() as conn:
        return list(
            conn.execute(select(batch_jobs.c.id).order_by(batch_jobs.c.created_at)).scalars()
        )


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("slow_request", [1, 2])
def test_ctrl_c_during_the_requests_says_what_was_accepted_and_what_was_not(
    db: Database, settings: Settings, world: World, tmp_path: Path, backend: str, slow_request: int
) -> None:
    data = tmp_path / "devices.json"
    devices = [synthesize_device(80 + n) for n in range(5)]
    data.write_text(
        json.dumps([{"serialNumber": d.serial, "hardwareHash": d.hardware_hash} for d in devices])
    )
    app = create_app(settings, db=db, embedded_worker=True)
    with live_server(app) as url:
        path = "*/deviceBatches" if slow_request == 1 else "*/devices"
        fault = {"method": "POST", "path": path, "latencyMs": 20_000, "count": 1}
        api = httpx.Client(base_url=url, timeout=10)
        added = api.post("/_ztd/v1/faults", json=fault, headers=operator_auth(settings, world))
        assert added.status_code == 201, added.text
        env = {**os.environ, "ZTD_URL": url, "ZTD_TOKEN": world.token, "COLUMNS": "200"}
        args = ["upload", str(data), "--customer", world.customer, "--batch", "big"]
        cli = subprocess.Popen(
            [sys.executable, "-m", "ztd", *args, "--per-request", "2", "--wait"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while faults_left(db):  # a fault that fired once is removed: the request waits
                assert cli.poll() is None and time.monotonic() < deadline, cli.stderr
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            cli.send_signal(signal.SIGINT)
            _out, err = cli.communicate(timeout=30)
    assert cli.returncode == 130, err
    said = [line for line in err.splitlines() if line.strip()]
    accepted = jobs_in(db)
    if slow_request == 1:
        assert said[-1] == (
            "interrupted: no request was answered yet; the one cut off may still have been "
            f"accepted into batch 'big': `ztd batches list --customer {world.customer}` shows "
            "the batches"
        )
        return
    tracking = accepted[0]
    assert said[-3:] == [
        f"interrupted: 2 of 5 devices were sent into batch 'big', as job {tracking}; they are "
        "processed regardless",
        f"follow it with: `ztd status --customer {world.customer} {tracking} --wait`",
        "not sent: devices 3 to 5 (3); the request cut off may have been accepted as one more job",
    ]
