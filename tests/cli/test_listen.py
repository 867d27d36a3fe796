"""`ztd listen --forward-to`: a real CLI process prints and forwards (with valid signatures)
the events of an upload made elsewhere, and its registration is gone once it is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.api import hash_device
from tests.support.live_server import live_server
from tests.support.receiver import receiver
from tests.support.world import World
from ztd.client import WebhookVerificationError, verify_webhook
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite"])  # the embedded default
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_listen_prints_and_forwards_an_upload_and_removes_its_registration_on_exit(
    db: Database, settings: Settings, world: World, tmp_path: Path, backend: str, stop: int
) -> None:
    app = create_app(settings, db=db, embedded_worker=True)
    with live_server(app) as url, receiver() as hook:
        env = {**os.environ, "ZTD_URL": url, "ZTD_TOKEN": world.token, "COLUMNS": "200"}
        err = tmp_path / "stderr.txt"
        cli = subprocess.Popen(
            [sys.executable, "-m", "ztd", "listen", "--forward-to", hook.url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err.open("wb"),
        )
        try:
            api = httpx.Client(base_url=url, headers=world.auth(), timeout=10)
            deadline = time.monotonic() + 30
            while not api.get("/webhooks/v1/registration").json()["items"]:
                assert cli.poll() is None and time.monotonic() < deadline, err.read_text()
                time.sleep(0.05)
            response = api.post(
                f"/v1/customers/{world.customer}/deviceBatches",
                json={"BatchId": "listened", "Devices": [hash_device(21)]},
            )
            assert response.status_code == 202
            tracking = response.headers["Location"].split("/")[4]
            created, got = hook.wait_for(2, timeout=30)  # all event types by default
            time.sleep(0.2)  # the CLI prints after forwarding
        finally:
            cli.send_signal(stop)
            out, _ = cli.communicate(timeout=30)
        assert cli.returncode == 0, err.read_text()
        secret = next(w for w in err.read_text().split() if w.startswith("whsec_")).rstrip(".")
        assert verify_webhook(created.body, created.headers, secret)["type"] == (
            "devicebatch.created"
        )
        event = verify_webhook(got.body, got.headers, secret)
        assert event["type"] == "devicebatch.job.completed"
        assert event["data"]["trackingId"] == tracking
        printed = out.decode()
        assert "devicebatch.created  listened  -> 200" in printed
        assert f"devicebatch.job.completed  {tracking}  1 ok, 0 failed  -> 200" in printed
        with pytest.raises(WebhookVerificationError):
            verify_webhook(got.body + b" ", got.headers, secret)
        assert api.get("/webhooks/v1/registration").json()["items"] == []
        api.close()
