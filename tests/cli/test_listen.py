"""`ztd listen --forward-to`: a real CLI process prints and forwards (with valid signatures)
the events of an upload made elsewhere, and its registration is gone once it is stopped; a
bad --forward-to or --event is refused (exit 3) before anything is registered, and --json
says a forward's outcome as a value."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.api import hash_device
from tests.support.live_server import free_port, live_server
from tests.support.receiver import receiver
from tests.support.waiting import STARTUP_SECONDS, wait_until
from tests.support.world import World
from ztd.cli.listen_forward import RETRY_DELAYS
from ztd.client import WebhookVerificationError, verify_webhook
from ztd.server.app import create_app
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

pytestmark = pytest.mark.slow

ZTD_LISTEN = [sys.executable, "-m", "ztd", "listen"]


@pytest.mark.parametrize("backend", ["sqlite"])  # the embedded default
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_listen_prints_and_forwards_an_upload_and_removes_its_registration_on_exit(
    db: Database, settings: Settings, world: World, tmp_path: Path, backend: str, stop: int
) -> None:
    app = create_app(settings, db=db, embedded_worker=True)
    with live_server(app) as url, receiver() as hook:
        env = {**os.environ, "ZTD_URL": url, "ZTD_TOKEN": world.token, "COLUMNS": "200"}
        err, out = tmp_path / "stderr.txt", tmp_path / "stdout.txt"
        cli = subprocess.Popen(
            [sys.executable, "-m", "ztd", "listen", "--forward-to", hook.url],
            env=env,
            stdout=out.open("wb"),  # each printed line is flushed: readable while it runs
            stderr=err.open("wb"),
        )
        try:
            api = httpx.Client(base_url=url, headers=world.auth(), timeout=10)
            deadline = time.monotonic() + STARTUP_SECONDS  # the CLI registers once started
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
            # The CLI prints an event after forwarding it: stopping it before that line (a
            # fixed 0.2 s was too short on a loaded machine) would lose it.
            wait_until(
                lambda: f"devicebatch.job.completed  {tracking}" in out.read_text(),
                timeout=30,
                message=lambda: f"stdout: {out.read_text()!r}\nstderr: {err.read_text()}",
            )
        finally:
            cli.send_signal(stop)
            cli.wait(timeout=30)
        assert cli.returncode == 0, err.read_text()
        secret = next(w for w in err.read_text().split() if w.startswith("whsec_")).rstrip(".")
        assert verify_webhook(created.body, created.headers, secret)["type"] == (
            "devicebatch.created"
        )
        event = verify_webhook(got.body, got.headers, secret)
        assert event["type"] == "devicebatch.job.completed"
        assert event["data"]["trackingId"] == tracking
        printed = out.read_text()
        assert "devicebatch.created  listened  -> 200" in printed
        assert f"devicebatch.job.completed  {tracking}  1 succeeded, 0 failed  -> 200" in printed
        with pytest.raises(WebhookVerificationError):
            verify_webhook(got.body + b" ", got.headers, secret)
        assert api.get("/webhooks/v1/registration").json()["items"] == []
        api.close()


def _listen_env(url: str, token: str) -> dict[str, str]:
    return {**os.environ, "ZTD_URL": url, "ZTD_TOKEN": token, "COLUMNS": "200"}


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("notaurl", "'notaurl' is not an http:// or https:// URL"),
        ("ftp://127.0.0.1/hook", "'ftp://127.0.0.1/hook' is not an http:// or https:// URL"),
        ("http:///hook", "'http:///hook' has no host"),
        ("http://127.0.0.1:port/hook", "'http://127.0.0.1:port/hook' is not a valid URL (Port"),
        # The registration's rule, in its words (webhooks/egress.py); the password unrepeated.
        ("http://user:pw@127.0.0.1:1/x", "carries credentials (user:password@); remove them."),
        ("http://user@127.0.0.1:1/x", "carries credentials (user:password@); remove them."),
    ],
)
def test_listen_refuses_a_forward_url_that_is_not_http_before_anything(url: str, said: str) -> None:
    # Nothing listens at ZTD_URL: the argument is refused before any call.
    done = subprocess.run(
        [*ZTD_LISTEN, "--forward-to", url],
        env=_listen_env("http://127.0.0.1:9", "unused"),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,  # a CLI start on a busy machine
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"error: --forward-to: {said}"), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert ":pw@" not in done.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_listen_refuses_an_unknown_event_type_naming_the_known_ones(
    db: Database, settings: Settings, world: World, backend: str
) -> None:
    with live_server(create_app(settings, db=db, embedded_worker=False)) as url:
        done = subprocess.run(
            [*ZTD_LISTEN, "-e", "devicebatch.created", "--event", "devicebatch.job.complete"],
            env=_listen_env(url, world.token),
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )
        registrations = httpx.get(f"{url}/webhooks/v1/registration", headers=world.auth())
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == [
        "error: --event 'devicebatch.job.complete' is not an event type; known: "
        "devicebatch.job.completed, devicepolicy.job.completed, devicebatch.created"
    ]
    assert registrations.json()["items"] == []  # refused before registering


@pytest.mark.parametrize("backend", ["sqlite"])
def test_listen_json_says_a_refused_forward_as_an_error_after_its_retries(
    db: Database, settings: Settings, world: World, tmp_path: Path, backend: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    app = create_app(settings, db=db, embedded_worker=True)
    with live_server(app) as url:
        err = tmp_path / "stderr.txt"
        cli = subprocess.Popen(
            [*ZTD_LISTEN, "--json", "--forward-to", closed, "--event", "devicebatch.created"],
            env=_listen_env(url, world.token),
            stdout=subprocess.PIPE,
            stderr=err.open("wb"),
        )
        assert cli.stdout is not None
        try:
            api = httpx.Client(base_url=url, headers=world.auth(), timeout=10)
            wait_until(
                lambda: (
                    cli.poll() is not None or api.get("/webhooks/v1/registration").json()["items"]
                ),
                timeout=STARTUP_SECONDS,
                message=lambda: err.read_text(),
            )
            response = api.post(
                f"/v1/customers/{world.customer}/deviceBatches",
                json={"BatchId": "refused", "Devices": [hash_device(22)]},
            )
            assert response.status_code == 202
            line = cli.stdout.readline()  # after the forward's tries (3.5 s)
        finally:
            cli.send_signal(signal.SIGINT)
            cli.communicate(timeout=30)
            api.close()
    printed = orjson.loads(line)
    assert printed["type"] == "devicebatch.created"
    assert printed["data"]["batchId"] == "refused"
    forwarded = printed["forwarded"]
    assert forwarded["attempts"] == 1 + len(RETRY_DELAYS)
    assert set(forwarded) == {"error", "attempts"} and forwarded["error"], forwarded
