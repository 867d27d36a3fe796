"""`ztd webhooks list|add|update|delete|test|rotate|replay` (registrations through the SDK),
`ztd webhooks deliveries` (the delivery log) and `--via-events` on
`ztd upload --wait` and `ztd status --wait`, over the real app in-process on the real
clock (the server's long poll runs on it), with the jobs run by the test's worker."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device
from tests.support.cli import Cli, make_app
from tests.support.emulator import add_rule, operator_auth
from tests.support.receiver import Receiver, receiver
from tests.support.sdk import devices
from tests.support.sdk_requests import Sent, channels, finish_in, recording
from tests.support.webhooks import Log, three_test_events
from tests.support.world import World
from ztd.cli import _common
from ztd.client import _job_events
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks.delivery import Deliverer

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


@pytest.fixture
def long_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """No status read between the one after the channel opened and the one on the event
    (the SDK's re-reads while no event comes start after 1 s: see ReadRounds)."""
    monkeypatch.setattr(_job_events, "FIRST_ROUND_SECONDS", 30.0)


@pytest.mark.usefixtures("long_rounds")
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
    assert "2 of 2 devices processed, 2 succeeded, 0 failed" in uploaded.stdout
    kinds = sent.kinds()
    assert "GET listen" in kinds and kinds[-1] == "DELETE registration"
    assert sent.status_reads() == 2  # once when the channel opened, once on the event
    assert channels(db) == []


@pytest.mark.usefixtures("long_rounds")
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


@pytest.mark.timing
@pytest.mark.parametrize("command", ["status", "upload"])
def test_wait_via_events_on_a_held_job_ends_when_the_hold_does(
    cli: Cli,
    client: TestClient,
    settings: Settings,
    world: World,
    worker: Worker,
    tmp_path: Path,
    command: str,
) -> None:
    """A tryout's: with `stayProcessing` for 5 s the wait took its whole --timeout (31 s),
    as the job finished before the channel opened (its event went to nobody) and the one
    status read said processing. ``status``: the job finished before the command; ``upload``:
    during it, before or after the channel opened."""
    hold = 3.0
    add_rule(
        client,
        operator_auth(settings, world),
        {"serialNumber": "EV-*"},
        {"stayProcessing": {"seconds": hold}},
    )
    body = [{**hash_device(60 + n), "SerialNumber": f"EV-{n}"} for n in range(2)]
    started = time.monotonic()
    if command == "status":
        tracking = create_batch(client, world.customer, world.auth(), "held", body)
        worker.run_until_idle()
        args = ["status", tracking]
        timer = None
    else:
        data = tmp_path / "devices.json"
        data.write_text(
            json.dumps(
                [
                    {"serial_number": d["SerialNumber"], "hardware_hash": d["HardwareHash"]}
                    for d in body
                ]
            )
        )
        args = ["upload", str(data)]
        timer = finish_in(0.3, worker.run_until_idle)
    try:
        shown = cli(
            *args, "--customer", world.customer, "--wait", "--via-events", "--timeout", "30"
        )
    finally:
        if timer is not None:
            timer.join()
    took = time.monotonic() - started
    assert shown.exit_code == 0, shown.output
    assert "2 of 2 devices processed" in shown.stdout
    assert hold <= took < hold + 4.0


def _added(cli: Cli, url: str, *events: str) -> dict[str, object]:
    args = [arg for event in events for arg in ("--event", event)]
    added = cli("webhooks", "add", url, *args, "--json")
    assert added.exit_code == 0, added.output
    made: dict[str, object] = json.loads(added.stdout)
    return made


def test_add_list_update_test_rotate_delete(cli: Cli, hook: Receiver, loopback: Settings) -> None:
    added = cli("webhooks", "add", hook.url, "--event", "devicebatch.created")
    assert added.exit_code == 0, added.output
    secret = next(line for line in added.stdout.splitlines() if line.startswith("secret: "))
    assert secret.startswith("secret: whsec_")
    assert "keep the secret now: it is not shown again" in added.stderr
    listed = cli("webhooks", "list", "--json")
    assert listed.exit_code == 0 and "secret" not in listed.stdout  # never shown again
    ((rid, url, events, status),) = [
        (row["id"], row["webhookUrl"], row["webhookEvents"], row["status"])
        for row in json.loads(listed.stdout)
    ]
    assert f"registered {rid}" in added.stdout
    assert (url, events, status) == (hook.url, ["devicebatch.created"], "active")
    table = cli("webhooks", "list")
    assert table.exit_code == 0 and "1 registration" in table.stdout
    (row,) = [line for line in table.stdout.splitlines() if rid in line]
    assert hook.url in row and "devicebatch.created" in row and "active" in row

    other = _added(cli, hook.url + "/b", "devicebatch.job.completed")
    assert str(other["secret"]).startswith("whsec_")
    updated = cli(
        "webhooks",
        "update",
        rid,
        hook.url,
        "--event",
        "devicebatch.created",
        "--event",
        "devicebatch.job.completed",
    )
    assert updated.exit_code == 0, updated.output
    assert (
        f"updated {rid}: {hook.url} for devicebatch.created, devicebatch.job.completed (active)"
        in updated.stdout
    )

    one = cli("webhooks", "test", rid, "--json")
    assert one.exit_code == 0, one.output
    (event,) = json.loads(one.stdout)["eventIds"]
    every = cli("webhooks", "test")
    assert "sent 2 test events" in every.stdout
    shown = cli("webhooks", "test", rid).stdout
    assert re.search(r"^follow it with: ztd webhooks deliveries --event msg_\w+$", shown, re.M)
    assert event in cli("webhooks", "deliveries", rid).stdout

    rotated = cli("webhooks", "rotate", rid, "--overlap", "60", "--json")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.stdout)
    assert new["secret"].startswith("whsec_") and new["secret"] != secret.removeprefix("secret: ")
    assert "previousSecretExpiresTime" in new and "not shown again" in rotated.stderr

    deleted = cli("webhooks", "delete", rid)
    assert deleted.exit_code == 0 and f"deleted registration {rid}" in deleted.stdout
    cli("webhooks", "delete", str(other["id"]))
    assert "no webhook registrations; add one with" in cli("webhooks", "list").stdout
    gone = cli("webhooks", "delete", rid)
    assert gone.exit_code == 1 and "was not found" in gone.stderr


def test_a_disabled_registration_is_listed_with_why_re_enabled_and_replayed(
    cli: Cli, hook: Receiver, loopback: Settings, db: Database
) -> None:
    rid = str(_added(cli, hook.url, "devicebatch.created")["id"])
    hook.script = [410]
    (event,) = json.loads(cli("webhooks", "test", rid, "--json").stdout)["eventIds"]
    assert Deliverer(db, loopback).deliver_due() == 1
    (row,) = [line for line in cli("webhooks", "list").stdout.splitlines() if rid in line]
    assert "disabled since " in row and "410" in row

    # Every command a disabled registration refuses says why and the command that
    # re-enables it, in the same words (a tryout found `test` said only "no active").
    hint = f"From here: `ztd webhooks update {rid} URL --event TYPE`"
    for args in (
        ("replay", rid, "--failed-since", "1h"),
        ("test", rid),
        ("test",),
        ("replay", "--event", event),
    ):
        refused = cli("webhooks", *args)
        assert refused.exit_code == 1, (args, refused.output)
        said = " ".join(refused.stderr.split())
        assert f"Webhook registration {rid} is disabled since " in said, (args, said)
        assert (hint if rid in args else hint.replace(rid, "ID")) in said, (args, said)
        assert "re-enables " in said and said.endswith("then this command again"), (args, said)
    assert cli("webhooks", "update", rid, hook.url, "--event", "devicebatch.created").exit_code == 0
    replayed = cli("webhooks", "replay", rid, "--failed-since", "1h")
    assert replayed.exit_code == 0, replayed.output
    assert "queued 1 delivery again" in replayed.stdout
    assert Deliverer(db, loopback).deliver_due() == 1
    again = cli("webhooks", "replay", "--event", event, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout) == {"queued": 1, "skipped": []}


def test_an_event_replay_names_the_disabled_registrations_it_left_out(
    cli: Cli, client: TestClient, world: World, hook: Receiver, loopback: Settings, db: Database
) -> None:
    """Found in a tryout: the API listed them in `skipped`, the CLI dropped them."""
    with receiver() as gone:
        gone.script = [410]
        kept = str(_added(cli, hook.url, "devicebatch.created")["id"])
        dropped = str(_added(cli, gone.url, "devicebatch.created")["id"])
        create_batch(client, world.customer, world.auth(), "both", [hash_device(3)])
        assert Deliverer(db, loopback).deliver_due() == 2  # one event, to both
    (event,) = {
        d["eventId"] for d in json.loads(cli("webhooks", "deliveries", kept, "--json").stdout)
    }
    shown = cli("webhooks", "replay", "--event", event)
    assert shown.exit_code == 0, shown.output
    assert "queued 1 delivery again" in shown.stdout
    assert f"skipped {dropped}: " in shown.stderr and "is disabled since" in shown.stderr
    # How to get it there too, without sending the event twice to the one it reached.
    assert f"`ztd webhooks update {dropped} URL --event TYPE`" in shown.stderr
    assert f"then `ztd webhooks replay {dropped} --failed-since TIME`" in shown.stderr
    answer = json.loads(cli("webhooks", "replay", "--event", event, "--json").stdout)
    assert answer["queued"] == 1
    assert [s["registrationId"] for s in answer["skipped"]] == [dropped]
    assert kept not in shown.stderr


def test_bad_arguments_exit_3_before_sending_and_refusals_exit_1(
    cli: Cli, hook: Receiver, loopback: Settings, sent: Sent
) -> None:
    for args, said in (
        (("add", hook.url), "give at least one --event TYPE"),
        (("update", "abc", hook.url), "give at least one --event TYPE"),
        (("replay",), "give an ID with --failed-since TIME, or --event EVENT-ID"),
        (("replay", "abc", "--event", "e"), "(exactly one)"),
        (("replay", "abc"), "--failed-since TIME is required with an ID"),
        (("replay", "--event", "e", "--failed-since", "1h"), "goes with an ID, not with --event"),
        (("replay", "abc", "--failed-since", "yesterday"), "is neither an ISO 8601 time"),
        (("replay", "abc", "--failed-since", "2026-11-30T00:00:00"), "has no time zone"),
        (("rotate", "abc", "--overlap", "604801"), "--overlap must be from 0 to 604800"),
    ):
        refused = cli("webhooks", *args)
        assert refused.exit_code == 3, (args, refused.output)
        assert said in refused.stderr, (args, refused.stderr)
    assert sent.requests == []

    bad_url = cli("webhooks", "add", "ftp://example.com/hook", "--event", "devicebatch.created")
    assert bad_url.exit_code == 1 and "webhookUrl" in bad_url.stderr
    bad_event = cli("webhooks", "add", hook.url, "--event", "no.such.event")
    assert bad_event.exit_code == 1 and "webhookEvents[0]" in bad_event.stderr
    none = cli("webhooks", "test")
    assert none.exit_code == 1 and "No webhook registration to send a test" in none.stderr
