"""Tables keep ids, names and times whole, however narrow the terminal: they are copied into
the next command, and a folded or ellipsised id cannot be."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from tests.support.cli import Cli
from ztd.cli.main import app as ztd_app
from ztd.cli.output import add_columns, print_table

GUID = "0f2c59b6-7f0e-4bd6-9f3c-3c0a7e4b1d2e"


def _has_whole(output: str, value: str) -> bool:
    return any(value in line for line in output.splitlines())


@pytest.mark.parametrize("columns", ["50", "80"])
def test_the_admin_lists_keep_both_ids_whole_on_a_narrow_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("ZTD_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    partner = runner.invoke(ztd_app, ["admin", "partner", "add", "Fabrikam"]).stdout.strip()
    name = "Contoso Pharmaceuticals Europe Limited (Northern Ireland branch)"
    customer = runner.invoke(
        ztd_app, ["admin", "customer", "add", name, "--partner", partner]
    ).stdout.strip()
    env = {"COLUMNS": columns}
    partners = runner.invoke(ztd_app, ["admin", "partner", "list"], env=env)
    assert partners.exit_code == 0, partners.output
    assert _has_whole(partners.stdout, partner), partners.stdout
    customers = runner.invoke(ztd_app, ["admin", "customer", "list"], env=env)
    assert customers.exit_code == 0, customers.output
    assert _has_whole(customers.stdout, customer), customers.stdout
    assert _has_whole(customers.stdout, partner), customers.stdout
    assert "…" not in customers.stdout
    assert re.search(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\b", customers.stdout)
    widest = max(len(line.rstrip()) for line in customers.stdout.splitlines())
    assert widest <= int(columns), customers.stdout


def test_the_partner_lists_keep_ids_whole_on_a_narrow_terminal(cli: Cli, tmp_path: Path) -> None:
    csv_file = tmp_path / "d.csv"
    assert cli("demo-data", "--count", "3", "--output", str(csv_file)).exit_code == 0
    batch = "a batch name too long for a table"  # a record line holds it
    customer = cli.world.customer
    uploaded = cli("upload", str(csv_file), "--customer", customer, "--batch", batch, "--wait")
    assert uploaded.exit_code == 0, uploaded.output
    policy = cli("policies", "create", "--customer", customer, "--name", "Lab", "--json")
    assert policy.exit_code == 0, policy.output
    devices = cli("devices", "list", "--customer", customer, "--batch", batch, "--json")
    device_ids = [d["id"] for d in json.loads(devices.stdout)]

    def narrow(*args: str) -> str:
        shown = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "60"})
        assert shown.exit_code == 0, shown.output
        assert "…" not in shown.stdout
        return shown.stdout

    assert _has_whole(narrow("batches", "list", "--customer", customer), batch)
    listed = narrow("devices", "list", "--customer", customer, "--batch", batch)
    assert all(_has_whole(listed, device_id) for device_id in device_ids), listed
    policies = narrow("policies", "list", "--customer", customer)
    assert _has_whole(policies, json.loads(policy.stdout)["id"]), policies


def test_a_table_that_fits_keeps_the_terminals_width() -> None:
    out = Console(width=80, record=True, force_terminal=False)
    table = Table(title="2 things")
    add_columns(table, ("id", "note"), whole=("id",))
    table.add_row("short", "a note that is long enough to fold " * 4)
    print_table(out, table)
    lines = out.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) > 6  # the note folded onto several lines instead of widening the table
    assert out.width == 80


@pytest.mark.parametrize("width", [50, 80])
def test_a_table_too_wide_for_its_ids_is_printed_as_records(width: int) -> None:
    out = Console(width=width, record=True, force_terminal=False)
    table = Table(title="2 deliveries")
    columns = ("id", "partner", "attempts and their answers", "created")
    add_columns(table, columns, whole=("id", "partner", "created"))
    table.add_row(GUID, GUID.upper(), "2026-11-30T10:00:00Z 500 12 ms\n" * 3, "2026-11-30")
    table.add_row(GUID[::-1], GUID, "none yet", "2026-12-01")
    print_table(out, table)
    lines = out.export_text().splitlines()
    assert lines[0] == "2 deliveries"
    assert max(len(line.rstrip()) for line in lines) <= width
    for value in (GUID, GUID.upper(), GUID[::-1]):
        assert any(value in line for line in lines), lines  # each id whole on its line
    assert sum(line.startswith("id ") for line in lines) == 2
    assert out.width == width  # unchanged for what the command prints next


def test_an_empty_table_shows_its_headers_however_narrow() -> None:
    out = Console(width=30, record=True, force_terminal=False)
    table = Table(title="0 devices")
    add_columns(table, ("id", "serial", "manufacturer", "uploaded"), whole=("id", "uploaded"))
    print_table(out, table)
    text = out.export_text()
    assert "0 devices" in text and "id" in text
