"""The summaries name devices: `ztd upload --wait` and `ztd status` list each failed device
(CSV line, serial or PKID, code, what to do), grouped by error and capped; an 806 says which
batch and device already hold the device. Also adding to an existing batch (--append) and
deleting a device."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import Cli, InProcessCli
from tests.support.shared import shared_dir
from ztd.cli import failures
from ztd.identity import synthesize_device, synthesize_hash
from ztd.server.settings import Settings

HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


def _field_case(name: str) -> Path:
    path = shared_dir() / "fixtures" / "field-cases" / name
    if not path.exists():
        pytest.skip(f"field case {name} is not available")
    return path


def _ids_by_serial(cli: Cli, batch: str) -> dict[str, str]:
    listed = cli("devices", "list", "--customer", cli.world.customer, "--batch", batch, "--json")
    assert listed.exit_code == 0, listed.output
    return {d["serialNumber"]: d["id"] for d in json.loads(listed.stdout)}


def test_case08_reimport_names_each_device_and_where_it_is_registered(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    cli = cli_in_process
    lab = _field_case("case08-lab-vm-reimport.csv")
    lines = lab.read_text(encoding="utf-8").splitlines()
    first_row = tmp_path / "row1.csv"
    first_row.write_text("\r\n".join(lines[:2]) + "\r\n", encoding="utf-8")
    customer = cli.world.customer
    serials = [line.split(",")[0] for line in lines[1:3]]

    done = cli("upload", str(first_row), "--customer", customer, "--batch", "lab-1", "--wait")
    assert done.exit_code == 0, done.output
    in_lab1 = _ids_by_serial(cli, "lab-1")

    # The whole file: row 1 (line 2) is already registered in lab-1, row 2 registers.
    second = cli("upload", str(lab), "--customer", customer, "--batch", "lab-2", "--wait")
    assert second.exit_code == 2, second.output
    out = second.stdout
    assert "1 device failed" in out
    assert "806 ZtdDeviceAlreadyAssigned: 1 device." in out
    assert (
        f"line 2, serial {serials[0]}" in out
        and f"already registered in batch 'lab-1' as device {in_lab1[serials[0]]}" in out
    )
    assert "line 3" not in out
    in_lab2 = _ids_by_serial(cli, "lab-2")

    # Once more: both are registered now, each named with its line and where it is.
    third = cli("upload", str(lab), "--customer", customer, "--batch", "lab-3", "--wait")
    assert third.exit_code == 2, third.output
    out = third.stdout
    assert "806 ZtdDeviceAlreadyAssigned: 2 devices." in out
    assert f"line 2, serial {serials[0]}" in out and f"line 3, serial {serials[1]}" in out
    assert f"batch 'lab-1' as device {in_lab1[serials[0]]}" in out
    assert f"batch 'lab-2' as device {in_lab2[serials[1]]}" in out

    # `ztd status` names them too, from what the status document and the batches say.
    tracking = re.search(r"batch job ([0-9a-f-]{36})", out)
    assert tracking is not None
    status = cli("status", "--customer", customer, tracking.group(1))
    assert status.exit_code == 2
    assert f"batch 'lab-1' as device {in_lab1[serials[0]]}" in status.stdout
    assert f"batch 'lab-2' as device {in_lab2[serials[1]]}" in status.stdout


def _csv(path: Path, seeds: range, extra: list[str] | None = None) -> Path:
    rows = [HEADER]
    for seed in seeds:
        dev = synthesize_device(seed)
        rows.append(f"{dev.serial},{dev.pkid or ''},{dev.hardware_hash}")
    path.write_text("\r\n".join(rows + (extra or [])) + "\r\n", encoding="utf-8")
    return path


def test_many_failures_are_grouped_and_capped(
    cli_in_process: InProcessCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    monkeypatch.setattr(failures, "SHOWN_PER_ERROR", 3)
    monkeypatch.setattr(failures, "LOOKUP_AT_MOST", 2)
    devices = _csv(tmp_path / "d.csv", range(500, 508))
    assert (
        cli("upload", str(devices), "--customer", customer, "--batch", "a", "--wait").exit_code == 0
    )

    again = cli("upload", str(devices), "--customer", customer, "--batch", "b", "--wait")
    assert again.exit_code == 2
    out = again.stdout
    assert "8 devices failed" in out and "806 ZtdDeviceAlreadyAssigned: 8 devices." in out
    listed = [line for line in out.splitlines() if line.startswith("  line ")]
    assert [line.split(",")[0] for line in listed] == ["  line 2", "  line 3", "  line 4"]
    assert sum("already registered in batch 'a'" in line for line in listed) == 2  # the cap
    assert "... and 5 more (`ztd status --customer" in out

    # --json keeps its shape: no device list, the summary per error.
    as_json = cli(
        "upload", str(devices), "--customer", customer, "--batch", "c", "--wait", "--json"
    )
    doc = json.loads(as_json.stdout)
    shape = "batchId trackingId location devices skipped jobs summary results result"
    assert set(doc) == set(shape.split())
    assert doc["summary"][0]["devices"] == 8


def test_append_adds_to_an_existing_batch(cli_in_process: InProcessCli, tmp_path: Path) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    first = _csv(tmp_path / "first.csv", range(600, 602))
    more = _csv(tmp_path / "more.csv", range(602, 605))
    assert (
        cli("upload", str(first), "--customer", customer, "--batch", "lab", "--wait").exit_code == 0
    )

    exists = cli("upload", str(more), "--customer", customer, "--batch", "lab", "--wait")
    assert exists.exit_code == 1
    assert "batch 'lab' already exists; add --append" in exists.stderr

    added = cli("upload", str(more), "--customer", customer, "--batch", "lab", "--append", "--wait")
    assert added.exit_code == 0, added.output
    assert "3 of 3 devices processed, 3 succeeded" in added.stdout
    listed = cli("devices", "list", "--customer", customer, "--batch", "lab", "--json")
    assert len(json.loads(listed.stdout)) == 5

    no_batch = cli("upload", str(more), "--customer", customer, "--append")
    assert no_batch.exit_code == 3 and "--append needs --batch NAME" in no_batch.stderr
    missing = cli("upload", str(more), "--customer", customer, "--batch", "nope", "--append")
    assert missing.exit_code == 1
    assert "is there a batch 'nope'?" in missing.stderr and "leave out --append" in missing.stderr


def test_delete_devices(cli_in_process: InProcessCli, tmp_path: Path) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    three = _csv(tmp_path / "three.csv", range(700, 703))
    assert (
        cli("upload", str(three), "--customer", customer, "--batch", "x", "--wait").exit_code == 0
    )
    ids = [
        d["id"]
        for d in json.loads(
            cli("devices", "list", "--customer", customer, "--batch", "x", "--json").stdout
        )
    ]

    deleted = cli("devices", "delete", ids[0], ids[1], "--customer", customer, "--batch", "x")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout.splitlines() == [f"deleted device {ids[0]}", f"deleted device {ids[1]}"]
    left = json.loads(
        cli("devices", "list", "--customer", customer, "--batch", "x", "--json").stdout
    )
    assert [d["id"] for d in left] == [ids[2]]
    gone = cli("devices", "delete", ids[0], "--customer", customer, "--batch", "x")
    assert gone.exit_code == 1 and "404" in gone.stderr


@pytest.mark.parametrize("with_errors", [False, True])
def test_failures_are_reported_whatever_the_top_level_status(
    cli_in_process: InProcessCli, tmp_path: Path, settings: Settings, with_errors: bool
) -> None:
    # ZTD_BATCH_STATUS_WITH_ERRORS only changes the top-level word; the CLI reads success or
    # failure from the device entries either way (issue 12, acceptance).
    settings.batch_status_with_errors = with_errors
    cli, customer = cli_in_process, cli_in_process.world.customer
    devices = _csv(tmp_path / "d.csv", range(800, 802))
    assert (
        cli("upload", str(devices), "--customer", customer, "--batch", "a", "--wait").exit_code == 0
    )
    again = cli("upload", str(devices), "--customer", customer, "--batch", "b", "--wait", "--json")
    assert again.exit_code == 2, again.output
    result = json.loads(again.stdout)["result"]
    assert result["status"] == ("finished_with_errors" if with_errors else "finished")
    assert [d["errorCode"] for d in result["devicesStatus"]] == ["806", "806"]
    status = cli("status", "--customer", customer, result["batchTrackingId"])
    assert status.exit_code == 2, status.output
    assert "2 devices failed" in status.stdout
    assert "806 ZtdDeviceAlreadyAssigned: 2 devices." in status.stdout


def _hash_only_csv(path: Path, hashes: list[str]) -> Path:
    path.write_text("\r\n".join([HEADER, *(f",,{h}" for h in hashes)]) + "\r\n", encoding="utf-8")
    return path


def _shared_serial_file(case: str, tmp_path: Path) -> Path:
    if case == "case01":  # the field case: two QEMU VMs, one placeholder serial, two UUIDs
        return _field_case("case01-two-qemu-vms.csv")
    if case == "placeholder":  # white boxes without a PKID, told apart by UUID
        hashes = [
            synthesize_hash(
                s, serial="To be filled by O.E.M.", manufacturer="ASUS", with_pkid=False
            )
            for s in (61, 62)
        ]
    else:  # one real-looking serial, two makers, no PKID: two machines
        hashes = [
            synthesize_hash(seed, serial="SN-SHARED", manufacturer=maker, with_pkid=False)
            for seed, maker in ((61, "HP"), (62, "LENOVO"))
        ]
    return _hash_only_csv(tmp_path / f"{case}.csv", hashes)


def _holders_by_line(out: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r"(line \d+), .*already registered in batch '([^']+)' as device (\S+)", out)
    return {line: (batch, device) for line, batch, device in found}


@pytest.mark.parametrize("case", ["case01", "placeholder", "two-makers"])
def test_an_806_names_the_device_that_holds_it_when_machines_share_a_serial(
    cli_in_process: InProcessCli, tmp_path: Path, case: str
) -> None:
    # The holder is the device the server's 806 entry names, not the first device of the
    # batches with the same serial: both lines used to name one device.
    cli, customer = cli_in_process, cli_in_process.world.customer
    devices = _shared_serial_file(case, tmp_path)
    first = cli("upload", str(devices), "--customer", customer, "--batch", "first", "--wait")
    assert first.exit_code == 0, first.output
    listed = cli("devices", "list", "--customer", customer, "--batch", "first", "--json")
    registered = {d["id"] for d in json.loads(listed.stdout)}
    assert len(registered) == 2

    again = cli("upload", str(devices), "--customer", customer, "--batch", "again", "--wait")
    assert again.exit_code == 2, again.output
    assert "806 ZtdDeviceAlreadyAssigned: 2 devices." in again.stdout
    tracking = re.search(r"batch job ([0-9a-f-]{36})", again.stdout)
    assert tracking is not None
    status = cli("status", "--customer", customer, tracking.group(1), "--json")
    entries = json.loads(status.stdout)["devicesStatus"]
    truth = {f"line {n}": ("first", e["deviceId"]) for n, e in enumerate(entries, start=2)}
    assert {device for _, device in truth.values()} == registered  # the server's own answer
    assert _holders_by_line(again.stdout) == truth
    # `ztd status` knows no lines nor makers, only what the status entries say.
    shown = cli("status", "--customer", customer, tracking.group(1))
    assert shown.exit_code == 2, shown.output
    named = re.findall(r"already registered in batch 'first' as device (\S+)", shown.stdout)
    assert sorted(named) == sorted(device for _, device in truth.values())
