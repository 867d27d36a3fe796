"""Why each device failed, in the CLI's failure lists: a status entry's ``errorDetail`` (here
strict mode's 812s, naming the field that differs from the OEM record) follows the device in
`ztd upload --wait` and `ztd status`; `--json` keeps its shape, the detail in the document's
entries as the API gives it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import InProcessCli
from tests.support.oem_records import import_oem
from ztd.server.settings import RegistrationMode, Settings
from ztd.server.storage.database import Database

OEM = [
    ("LENOVO", "21R3001BUK", "R9Y0Y28G"),
    ("LENOVO", "20XW004GUS", "PCYJD2AT"),
    ("LENOVO", "20XW004GUS", "PF1BRACK"),
]
# (CSV row, the detail the list shows after the device); Rich markup is shown as typed.
ROWS = [
    (
        "R9Y0Y28G,Lenovo,21R3001BUK",
        "serial R9Y0Y28G (Lenovo), manufacturer 'Lenovo' differs from the OEM record's 'LENOVO' "
        "(only in letter case; the tuple is case-sensitive)",
    ),
    (
        'PCYJD2AT,LENOVO,"ThinkPad X1, Carbon"',
        "serial PCYJD2AT (LENOVO), model 'ThinkPad X1, Carbon' differs from the OEM record's "
        "'20XW004GUS'",
    ),
    (
        "PF1BRACK,LENOVO,[bold]X1[/bold]",
        "serial PF1BRACK (LENOVO), model '[bold]X1[/bold]' differs from the OEM record's "
        "'20XW004GUS'",
    ),
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Strict mode, set before the worker is made (it reads the mode then)."""
    settings.registration_mode = RegistrationMode.STRICT
    return settings


def _tuples(path: Path) -> Path:
    lines = ["Device Serial Number,Manufacturer name,Device model", *(row for row, _ in ROWS)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _listed(out: str) -> list[str]:
    """The device lines under the error groups."""
    return [line.strip() for line in out.splitlines() if line.startswith("  ")]


def test_upload_and_status_name_why_each_device_failed(
    cli_in_process: InProcessCli, db: Database, tmp_path: Path
) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    import_oem(db, OEM)
    devices = _tuples(tmp_path / "tuples.csv")

    upload = cli("upload", str(devices), "--customer", customer, "--batch", "t", "--wait")
    assert upload.exit_code == 2, upload.output
    assert "812 ZtdDeviceNotFound: 3 devices." in upload.stdout
    assert _listed(upload.stdout) == [
        f"line {n}, {detail}" for n, (_, detail) in enumerate(ROWS, start=2)
    ]

    # `ztd status` knows no lines: the device and its detail, from the document alone.
    tracking = re.search(r"batch job ([0-9a-f-]{36})", upload.stdout)
    assert tracking is not None
    status = cli("status", "--customer", customer, tracking.group(1))
    assert status.exit_code == 2, status.output
    assert _listed(status.stdout) == [re.sub(r" \(\w+\),", ",", d) for _, d in ROWS]

    # --json: the same shapes as without details, the detail in the document's entries.
    as_json = cli("status", "--customer", customer, tracking.group(1), "--json")
    document = json.loads(as_json.stdout)
    details = [entry["errorDetail"] for entry in document["devicesStatus"]]
    assert [d.split(", ", 1)[1] for _, d in ROWS] == details
    again = cli("upload", str(devices), "--customer", customer, "--batch", "u", "--wait", "--json")
    assert again.exit_code == 2, again.output
    doc = json.loads(again.stdout)
    shape = "batchId trackingId location devices skipped jobs summary results result"
    assert set(doc) == set(shape.split())
    assert set(doc["result"]) == set(document)
    assert [e["errorDetail"] for e in doc["result"]["devicesStatus"]] == details
    assert doc["summary"] == [
        {
            "errorCode": "812",
            "errorDescription": "ZtdDeviceNotFound",
            "devices": 3,
            "remedy": doc["summary"][0]["remedy"],
        }
    ]
