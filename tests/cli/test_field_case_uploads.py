"""`ztd upload` of the field cases (shared/fixtures/field-cases): the checker's verdict holds on
the upload path. Whole-file problems are refused before anything is sent, with no advice to
--skip-invalid; files the checker reads (report exports, inventory exports) register what the
checker read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.cli import InProcessCli
from tests.support.real_devices import case
from ztd.identity import synthesize_device
from ztd.identity.input_file import read_input
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs


def _file(tmp_path: Path, name: str, data: bytes | None = None) -> Path:
    path = tmp_path / name
    path.write_bytes(case(name) if data is None else data)
    return path


def _jobs(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(batch_jobs)).scalar() or 0)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("case03-no-header.csv", "Add this line at the top of the file: Device Serial Number,"),
        ("case15-mixed-encoding-append.csv", "byte 4,080 (line 3)"),
    ],
)
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_whole_file_problems_are_refused_without_skip_invalid_advice(
    cli_in_process: InProcessCli,
    tmp_path: Path,
    db: Database,
    name: str,
    says: str,
    skip_invalid: bool,
) -> None:
    cli = cli_in_process
    args = ["upload", str(_file(tmp_path, name)), "--customer", cli.world.customer, "--wait"]
    refused = cli(*args, *(["--skip-invalid"] if skip_invalid else []))
    assert refused.exit_code == 3, refused.output
    flat = " ".join(refused.stderr.split())
    assert says in flat and "nothing was uploaded" in flat
    assert "--skip-invalid" not in flat
    assert _jobs(db) == 0


@pytest.mark.parametrize(
    ("name", "line", "says"),
    [
        ("case11-unpadded-hash.csv", 2, "append '=='"),
        ("case18-partner-switch-quotes-stripped.csv", 2, "quote values that contain commas"),
    ],
)
def test_bad_rows_of_field_cases_are_refused_before_sending(
    cli_in_process: InProcessCli, tmp_path: Path, db: Database, name: str, line: int, says: str
) -> None:
    cli = cli_in_process
    path = _file(tmp_path, name)
    refused = cli("upload", str(path), "--customer", cli.world.customer, "--wait")
    assert refused.exit_code == 3, refused.output
    flat = " ".join(refused.stderr.split())
    assert f"{path}:{line}:" in flat and says in flat
    assert _jobs(db) == 0


def _uploaded(cli: InProcessCli, path: Path, batch: str) -> list[dict[str, object]]:
    result = cli(
        "upload", str(path), "--customer", cli.world.customer, "--batch", batch, "--wait", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["status"] == "finished"
    listed = cli("devices", "list", "--customer", cli.world.customer, "--batch", batch, "--json")
    assert listed.exit_code == 0, listed.output
    devices: list[dict[str, object]] = json.loads(listed.stdout)
    return devices


def test_report_export_registers_the_devices_the_checker_read(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    devices = _uploaded(cli_in_process, _file(tmp_path, "case04-sccm-report-export.csv"), "r")
    assert sorted(str(d["serialNumber"]) for d in devices) == ["CND5821H0A", "PFMJS1RM"]


def test_inventory_export_registers_models_not_host_names(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    path = _file(tmp_path, "case14-endpoint-analytics-export.csv")
    devices = _uploaded(cli_in_process, path, "inventory")
    assert sorted(str(d["modelName"]) for d in devices) == [
        "21R3001BUK",
        "HP EliteBook 840 G8 Notebook PC",
    ]


def test_group_tag_file_uploads_and_warns(cli_in_process: InProcessCli, tmp_path: Path) -> None:
    cli = cli_in_process
    path = _file(tmp_path, "case06-grouptag-assigneduser.csv")
    result = cli("upload", str(path), "--customer", cli.world.customer, "--wait")
    assert result.exit_code == 0, result.output
    # One grouped warning on the header line, each unsent column's wording kept.
    assert "warning not-sent, line 1: " in result.stderr
    assert "'Group Tag'" in result.stderr and "'Assigned User'" in result.stderr
    checked = cli("csv", "check", str(path))
    assert "does not send" in " ".join(checked.output.split())


def test_a_wrapped_hash_cell_is_sent_as_clean_base64(
    cli_in_process: InProcessCli, tmp_path: Path
) -> None:
    d = synthesize_device(207)
    h = d.hardware_hash
    header = "Device Serial Number,Windows Product ID,Hardware Hash"
    text = f'{header}\r\n{d.serial},,"{h[:2000]}\r\n{h[2000:]}"\r\n'
    path = _file(tmp_path, "wrapped.csv", text.encode())
    [sent] = read_input(path, path.read_bytes(), skip_invalid=False).devices
    assert sent.hardware_hash == h
    devices = _uploaded(cli_in_process, path, "w")
    assert [x["serialNumber"] for x in devices] == [d.serial]
