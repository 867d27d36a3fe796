"""`ztd webhooks deliveries` (the delivery log through the SDK) and `--via-events` on
`ztd upload --wait` and `ztd status --wait`, over the real app in-process on the real
clock (the server's long poll runs on it), with the jobs run by the test's worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.cli import Cli, make_app
from tests.support.sdk import devices
from tests.support.sdk_requests import Sent, channels, finish_in, recording
from tests.support.webhooks import Log, three_test_events
from tests.support.world import World
from ztd.cli import _common
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


@pytest.fixture
def sent(client: TestClient) -> Iterator[Sent]:
    with recording(client) as recorder:
        yield recorder


@pytest.fixture
def cli(client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The commands over the in-process app, real time (no worker runs unless told)."""
    monkeypatch.setattr(_common, "CLIENT_OPTIONS", {"http_client": client})
    for name in ("ZTD_CLIENT_ID", "ZTD_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZTD_URL", "http://testserver")
    monkeypatch.setenv("ZTD_TOKEN", world.token)
    return Cli("http://testserver", world, make_app())


@pytest.fixture
def logged(client: TestClient, db: Database, settings: Settings, world: World) -> Iterator[Log]:
    """A registration with three test events, the first failed for good (500), the
    others delivered."""
    with three_test_events(client, db, settings, world) as made:
        yield made


def test_deliveries_shows_the_log_newest_first_with_each_attempt(
    cli: Cli, logged: Log, sent: Sent
) -> None:
    shown = cli("webhooks", "deliveries", logged.registration["id"])
    assert shown.exit_code == 0, shown.output
    assert f"3 deliveries of registration {logged.registration['id']}" in shown.stdout
    rows = [line for line in shown.stdout.splitlines() if "webhook.test" in line]
    assert [next(e for e in logged.sent if e in row) for row in rows] == logged.sent[::-1]
    assert "failed" in rows[-1] and " 500 " in rows[-1]
    assert all(" 200 " in row and "delivered" in row for row in rows[:2])

    # --limit reads no more pages than it needs, and says there are more.
    sent.requests.clear()
    two = cli("webhooks", "deliveries", logged.registration["id"], "--limit", "2", "--json")
    assert two.exit_code == 0, two.output
    assert [d["eventId"] for d in json.loads(two.stdout)] == logged.sent[::-1][:2]
    assert len([r for r in sent.requests if r.url.path.endswith("/deliveries")]) == 1
    limited = cli("webhooks", "deliveries", logged.registration["id"], "--limit", "1")
    assert "(the newest 1; --limit shows more)" in limited.stdout

    (one,) = json.loads(cli("webhooks", "deliveries", "--event", logged.sent[0], "--json").stdout)
    assert one["registrationId"] == logged.registration["id"] and one["status"] == "failed"
    assert [a["statusCode"] for a in one["attemptLog"]] == [500]


def test_deliveries_refuses_unclear_arguments_and_says_not_found(cli: Cli, logged: Log) -> None:
    for args in ((), (logged.registration["id"], "--event", logged.sent[0])):
        refused = cli("webhooks", "deliveries", *args)
        assert refused.exit_code == 3, refused.output
        assert "give a REGISTRATION-ID or --event EVENT-ID (exactly one)" in refused.stderr
    missing = cli("webhooks", "deliveries", "0" * 32)
    assert missing.exit_code == 1 and "was not found" in missing.stderr


def test_upload_wait_via_events_waits_on_the_event_not_by_polling(
    cli: Cli, tmp_path: Path, worker: Worker, db: Database, sent: Sent
) -> None:
    data = tmp_path / "devices.json"
    data.write_text(json.dumps(devices(1, 2)))
    timer = finish_in(1.0, worker.run_until_idle)  # a job of a second
    try:
        uploaded = cli(
            "upload", str(data), "--customer", cli.world.customer, "--wait", "--via-events"
        )
    finally:
        timer.join()
    assert uploaded.exit_code == 0, uploaded.output
    assert "2 of 2 devices processed, 2 registered, 0 failed" in uploaded.stdout
    kinds = sent.kinds()
    assert "GET listen" in kinds and kinds[-1] == "DELETE registration"
    assert sent.status_reads() == 2  # once when the channel opened, once on the event
    assert channels(db) == []


def test_status_wait_via_events_and_via_events_without_wait(
    cli: Cli, client: TestClient, world: World, worker: Worker, db: Database, sent: Sent
) -> None:
    response = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "later", "devices": devices(3)},
        headers=world.auth(),
    )
    tracking_id = response.headers["Location"].rsplit("/", 1)[-1]
    refused = cli("status", tracking_id, "--customer", world.customer, "--via-events")
    assert refused.exit_code == 3
    assert "--via-events is a way of waiting: add --wait" in refused.stderr
    sent.requests.clear()
    timer = finish_in(1.0, worker.run_until_idle)
    try:
        shown = cli("status", tracking_id, "--customer", world.customer, "--wait", "--via-events")
    finally:
        timer.join()
    assert shown.exit_code == 0, shown.output
    assert "finished; 1 of 1 device processed, 1 succeeded" in shown.stdout
    assert sent.long_polls() >= 1 and sent.status_reads() == 2
    assert channels(db) == []
