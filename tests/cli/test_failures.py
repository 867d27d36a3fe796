"""Failures print one clear line on stderr, no traceback, and a documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import Cli, make_app
from tests.support.live_server import free_port
from ztd.cli import _common
from ztd.client import RetryPolicy
from ztd.identity import synthesize_device
from ztd.server.clock import utc_now
from ztd.server.services.applications import add_application
from ztd.server.storage.database import Database

UNKNOWN = "0f0f0f0f-0000-4000-8000-000000000000"


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "RETRY_POLICY", RetryPolicy(backoff=(0.0,)))
    monkeypatch.setenv("ZTD_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ZTD_TOKEN", "anything")
    result = CliRunner().invoke(make_app(), ["batches", "list", "--customer", UNKNOWN])
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert "cannot reach http://127.0.0.1:" in line and "is the server running?" in line


def test_a_malformed_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTD_URL", "http://[::1")  # found in review: httpx.InvalidURL escaped
    monkeypatch.setenv("ZTD_TOKEN", "anything")
    result = CliRunner().invoke(make_app(), ["batches", "list", "--customer", UNKNOWN])
    assert result.exit_code == 1
    assert _one_error_line(result.stderr).startswith("error: ZTD_URL: ")


def test_rejected_token(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTD_TOKEN", "not-a-jwt")
    result = cli("status", "--customer", cli.world.customer, UNKNOWN)
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert "401 Unauthorized" in line and "check ZTD_TOKEN" in line


def test_not_found(cli: Cli) -> None:
    job = cli("status", "--customer", cli.world.customer, UNKNOWN)
    assert job.exit_code == 1
    assert "404 Not found (code 1000)" in _one_error_line(job.stderr)
    other = cli("devices", "list", "--customer", cli.world.other_customer, "--batch", "b")
    assert other.exit_code == 1
    assert "(code 60003)" in _one_error_line(other.stderr)


def test_missing_credentials_and_unreadable_file(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZTD_TOKEN")
    result = cli("batches", "list", "--customer", cli.world.customer)
    assert result.exit_code == 1
    assert "no credentials" in _one_error_line(result.stderr)
    missing = cli("upload", "/nonexistent/devices.csv", "--customer", cli.world.customer)
    assert missing.exit_code == 3
    assert "cannot read /nonexistent/devices.csv" in _one_error_line(missing.stderr)


def test_help_documents_exit_codes() -> None:
    result = CliRunner().invoke(make_app(), ["upload", "--help"])
    assert result.exit_code == 0
    assert "Exit codes: 0 all fine" in " ".join(result.stdout.split())


def test_client_credentials_from_the_environment(
    cli: Cli, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with db.write() as conn:
        client_id, secret = add_application(conn, cli.world.partner, "rmm", utc_now())
    monkeypatch.delenv("ZTD_TOKEN")
    monkeypatch.setenv("ZTD_CLIENT_ID", client_id)
    monkeypatch.setenv("ZTD_CLIENT_SECRET", secret)
    listed = cli("batches", "list", "--customer", cli.world.customer, "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []

    d = synthesize_device(3)
    csv_file = tmp_path / "one.csv"
    csv_file.write_text(f"Device Serial Number,Hardware Hash\n{d.serial},{d.hardware_hash}\n")
    refused = cli("upload", str(csv_file), "--customer", cli.world.customer)
    assert refused.exit_code == 1  # creating a batch needs App+User, as documented
    assert "403 Forbidden (code 900150)" in _one_error_line(refused.stderr)

    monkeypatch.setenv("ZTD_CLIENT_SECRET", "wrong")
    rejected = cli("batches", "list", "--customer", cli.world.customer)
    assert rejected.exit_code == 1
    assert "invalid_client" in _one_error_line(rejected.stderr)
