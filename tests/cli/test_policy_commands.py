"""`ztd policies list|create|update|delete` and `ztd devices assign-policy`, over the real app
in-process with fake time (a poll's wait runs the worker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.cli import InProcessCli, make_app
from ztd.identity.dds import DEVICE_NOT_REGISTERED, PROFILE_ASSIGNED_TO_OTHER_TENANT


def _ok(result: Any, code: int = 0) -> Any:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout) if result.stdout.lstrip().startswith(("{", "[")) else None


def _error_line(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def _upload(cli: InProcessCli, tmp_path: Path, batch: str, count: int, seed: int) -> list[str]:
    """A batch of ``count`` synthetic devices for the current ZTD_TOKEN's customer; their ids."""
    csv_file = tmp_path / f"{batch}.csv"
    made = cli("demo-data", "--count", str(count), "--output", str(csv_file), "--seed", str(seed))
    assert made.exit_code == 0, made.output
    customer = cli.world.customer if batch != "theirs" else cli.world.other_customer
    _ok(cli("upload", str(csv_file), "--customer", customer, "--batch", batch, "--wait", "--json"))
    listed = _ok(cli("devices", "list", "--customer", customer, "--batch", batch, "--json"))
    return [d["id"] for d in listed]


def test_policy_create_list_update_delete(cli_in_process: InProcessCli) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    created = _ok(
        cli(
            "policies",
            "create",
            "--customer",
            customer,
            "--name",
            "Kiosk",
            "--description",
            "front desk",
            "--setting",
            "skip_eula",
            "--setting",
            "OOBE_USER_NOT_LOCAL_ADMIN",
            "--json",
        )
    )
    pid = created["id"]
    assert created["category"] == "o_o_b_e"
    assert created["policySettings"] == ["skip_eula", "oobe_user_not_local_admin"]
    assert created["devicesAssignedCount"] == 0

    human = cli("policies", "create", "--customer", customer, "--name", "Lab")
    assert human.exit_code == 0, human.output
    assert "created policy Lab (id " in human.stdout and "settings: -" in human.stdout

    listed = _ok(cli("policies", "list", "--customer", customer, "--json"))
    assert [p["name"] for p in listed] == ["Kiosk", "Lab"]
    table = cli("policies", "list", "--customer", customer)
    assert table.exit_code == 0 and pid in table.stdout and "skip_eula" in table.stdout

    # Only the name changes: description and settings are kept (GET, then PUT).
    renamed = _ok(
        cli("policies", "update", pid, "--customer", customer, "--name", "Kiosk 2", "--json")
    )
    assert (renamed["id"], renamed["name"], renamed["description"]) == (
        pid,
        "Kiosk 2",
        "front desk",
    )
    assert renamed["policySettings"] == created["policySettings"]
    # Any --setting replaces the settings as a whole.
    reset = _ok(
        cli(
            "policies",
            "update",
            pid,
            "--customer",
            customer,
            "--setting",
            "skip_oem_registration",
            "--json",
        )
    )
    assert reset["policySettings"] == ["skip_oem_registration"] and reset["name"] == "Kiosk 2"
    cleared = _ok(
        cli(
            "policies",
            "update",
            pid,
            "--customer",
            customer,
            "--clear-settings",
            "--description",
            "",
            "--json",
        )
    )
    assert cleared["policySettings"] == [] and "description" not in cleared
    assert cleared["name"] == "Kiosk 2" and cleared["category"] == "o_o_b_e"

    deleted = _ok(cli("policies", "delete", pid, "--customer", customer, "--json"))
    assert deleted == {"id": pid, "deleted": True}
    again = cli("policies", "delete", pid, "--customer", customer)
    assert "404 Not found (code 1000)" in _error_line(again, 1)
    assert [p["name"] for p in _ok(cli("policies", "list", "--customer", customer, "--json"))] == [
        "Lab"
    ]


def test_policy_arguments_are_checked_before_sending(cli_in_process: InProcessCli) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    bogus = cli(
        "policies", "create", "--customer", customer, "--name", "x", "--setting", "skip_bogus"
    )
    line = _error_line(bogus, 3)
    assert "unknown policy setting 'skip_bogus'" in line and "skip_express_settings" in line
    none = cli("policies", "create", "--customer", customer, "--name", "x", "--setting", "none")
    assert "'none' is not a setting" in _error_line(none, 3)
    assert "--name must not be empty" in _error_line(
        cli("policies", "create", "--customer", customer, "--name", " "), 3
    )
    nothing = cli("policies", "update", "some-id", "--customer", customer)
    assert "nothing to change" in _error_line(nothing, 3)
    assert _ok(cli("policies", "list", "--customer", customer, "--json")) == []
    unknown = cli("policies", "update", "some-id", "--customer", customer, "--name", "y")
    assert "404" in _error_line(unknown, 1)


def test_assign_policy_to_a_batch_with_progress(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    ids = _upload(cli, tmp_path, "lab", 5, seed=1)
    pid = _ok(cli("policies", "create", "--customer", customer, "--name", "P", "--json"))["id"]
    cli.time.sleeps.clear()

    assigned = cli(
        "devices",
        "assign-policy",
        "--customer",
        customer,
        "--policy",
        pid,
        "--batch",
        "lab",
        "--wait",
    )
    assert assigned.exit_code == 0, assigned.output
    assert "5/5" in assigned.stderr  # the progress bar's final state
    assert "5 of 5 devices processed, 5 succeeded, 0 failed" in assigned.stdout
    assert cli.time.sleeps == [1.0]  # Retry-After while queued; the worker ran meanwhile

    listed = _ok(cli("devices", "list", "--customer", customer, "--batch", "lab", "--json"))
    assert [d["id"] for d in listed] == ids
    assert all(d["policies"] == [{"key": "o_o_b_e", "value": pid}] for d in listed)
    [policy] = _ok(cli("policies", "list", "--customer", customer, "--json"))
    assert policy["devicesAssignedCount"] == 5

    # --unassign, for two of them given by id (once each, however often named).
    out = _ok(
        cli(
            "devices",
            "assign-policy",
            "--customer",
            customer,
            "--unassign",
            ids[0],
            ids[1],
            ids[0],
            "--wait",
            "--json",
        )
    )
    assert (out["policyId"], out["devices"]) == (None, 2)
    assert out["result"]["status"] == "finished" and out["summary"] == []
    [policy] = _ok(cli("policies", "list", "--customer", customer, "--json"))
    assert policy["devicesAssignedCount"] == 3

    # Without --wait: the tracking id, to follow with `ztd status`.
    started = _ok(
        cli("devices", "assign-policy", "--customer", customer, "--policy", pid, ids[0], "--json")
    )
    assert started["location"] == f"/customers/{customer}/batchJobStatus/{started['trackingId']}"
    status = _ok(cli("status", "--customer", customer, started["trackingId"], "--wait", "--json"))
    assert status["status"] == "finished"
    human = cli("status", "--customer", customer, started["trackingId"])
    assert human.exit_code == 0
    assert "1 of 1 device processed, 1 succeeded, 0 failed" in human.stdout


def test_assign_policy_over_the_request_limit_goes_in_several_jobs(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    _upload(cli, tmp_path, "lab", 5, seed=3)
    pid = _ok(cli("policies", "create", "--customer", customer, "--name", "P", "--json"))["id"]
    base = ("devices", "assign-policy", "--customer", customer, "--batch", "lab")
    out = _ok(cli(*base, "--policy", pid, "--per-request", "2", "--wait", "--json"))
    assert [job["devices"] for job in out["jobs"]] == [2, 2, 1]
    assert len(out["results"]) == 3 and out["summary"] == []
    [policy] = _ok(cli("policies", "list", "--customer", customer, "--json"))
    assert policy["devicesAssignedCount"] == 5

    human = cli(*base, "--unassign", "--per-request", "4", "--wait")
    assert human.exit_code == 0, human.output
    assert "5/5" in human.stderr
    assert "all 2 jobs: 5 of 5 devices processed, 5 succeeded, 0 failed" in human.stdout


def test_assign_policy_mixed_outcomes_exit_2(
    cli_in_process: InProcessCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, world = cli_in_process, cli_in_process.world
    monkeypatch.setenv("ZTD_TOKEN", world.other_token)
    [their_device] = _upload(cli, tmp_path, "theirs", 1, seed=9)
    theirs = _ok(
        cli("policies", "create", "--customer", world.other_customer, "--name", "Hidden", "--json")
    )
    monkeypatch.setenv("ZTD_TOKEN", world.token)
    mine = _ok(cli("policies", "create", "--customer", world.customer, "--name", "Mine", "--json"))
    my_devices = _upload(cli, tmp_path, "mine", 2, seed=1)

    out = _ok(
        cli(
            "devices",
            "assign-policy",
            "--customer",
            world.customer,
            "--policy",
            mine["id"],
            my_devices[0],
            their_device,
            "--wait",
            "--json",
        ),
        2,
    )
    codes = [d.get("errorCode") for d in out["result"]["devicesStatus"]]
    assert codes == [None, "807"]
    assert out["summary"] == [
        {
            "errorCode": "807",
            "errorDescription": "ZtdDeviceIsNotRegistered",
            "devices": 1,
            "remedy": DEVICE_NOT_REGISTERED.remedy,
        }
    ]

    other = cli(
        "devices",
        "assign-policy",
        "--customer",
        world.customer,
        "--policy",
        theirs["id"],
        "--batch",
        "mine",
        "--wait",
    )
    assert other.exit_code == 2, other.output
    assert "2 of 2 devices processed, 0 succeeded, 2 failed" in other.stdout
    assert "ZtdProfileAssignedToOtherTenant" in other.stdout
    assert PROFILE_ASSIGNED_TO_OTHER_TENANT.remedy in " ".join(other.stdout.split())
    for secret in ("Hidden", world.other_customer):
        assert secret not in json.dumps(out) and secret not in other.stdout
    listed = _ok(cli("devices", "list", "--customer", world.customer, "--batch", "mine", "--json"))
    assert [d["policies"] for d in listed] == [
        [{"key": "o_o_b_e", "value": mine["id"]}],
        [{"key": "o_o_b_e"}],  # the OOBE entry without a value: no policy
    ]


def test_assign_policy_argument_errors_and_timeout(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    base = ("devices", "assign-policy", "--customer", customer)
    assert "--policy ID, or --unassign" in _error_line(cli(*base, "d1"), 3)
    assert "--policy ID, or --unassign" in _error_line(
        cli(*base, "--policy", "p", "--unassign", "d1"), 3
    )
    assert "no devices" in _error_line(cli(*base, "--policy", "p"), 3)
    missing = cli(*base, "--policy", "p", "--batch", "no such batch")
    assert "404" in _error_line(missing, 1)

    [device] = _upload(cli, tmp_path, "slow", 1, seed=4)
    pid = _ok(cli("policies", "create", "--customer", customer, "--name", "P", "--json"))["id"]
    cli.time.worker = None  # nothing gets processed from now on
    stuck = cli(*base, "--policy", pid, device, "--wait", "--timeout", "2", "--json")
    line = _error_line(stuck, 4)
    assert "not finished within 2.0 s" in line and "goes on in the server" in line
    assert f"ztd status --customer {customer} " in line and "continuation" not in line
    started = json.loads(stuck.stdout)  # --json still says what was started
    assert [job["trackingId"] for job in started["jobs"]] == [started["trackingId"]]
    assert started["trackingId"] in line


def test_help_lists_commands_settings_and_exit_codes() -> None:
    runner = CliRunner()
    policies = runner.invoke(make_app(), ["policies", "--help"])
    assert policies.exit_code == 0
    assert all(c in policies.stdout for c in ("list", "create", "update", "delete"))
    create = " ".join(runner.invoke(make_app(), ["policies", "create", "--help"]).stdout.split())
    assert "remove_oem_preinstalls" in create and "skip_eula" in create
    assign = " ".join(
        runner.invoke(make_app(), ["devices", "assign-policy", "--help"]).stdout.split()
    )
    assert "2 at least one device failed" in assign and "--batch" in assign
