"""Messages that lead somewhere: --skip-invalid suggested only when it helps, Ctrl-C and
--timeout say the jobs go on and how to follow them, a token of another data directory says
so, grouped warnings, demo data that checks clean, one exit-code table, output to a pipe not
wrapped."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.support.cli import Cli, InProcessCli, make_app
from tests.support.shared import shared_dir
from ztd.cli import _common
from ztd.cli.main import app as ztd_app
from ztd.identity import synthesize_device
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.settings import Settings

HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


def _rows(seeds: range) -> list[str]:
    devices = [synthesize_device(seed) for seed in seeds]
    return [f"{d.serial},{d.pkid or ''},{d.hardware_hash}" for d in devices]


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


# -- --skip-invalid only when it would help --------------------------------------------------


def test_a_file_without_header_is_never_told_to_skip_invalid(cli: Cli, tmp_path: Path) -> None:
    customer = cli.world.customer
    case03 = shared_dir() / "fixtures" / "field-cases" / "case03-no-header.csv"
    variants = [
        _write(tmp_path / "no-header.csv", _rows(range(800, 803))),
        _write(
            tmp_path / "no-header-semicolon.csv", [r.replace(",", ";") for r in _rows(range(3))]
        ),
    ]
    if case03.exists():
        variants.append(case03)
    for path in variants:
        for extra in ([], ["--skip-invalid"]):
            refused = cli("upload", str(path), "--customer", customer, *extra)
            assert refused.exit_code == 3, (path, refused.output)
            assert "--skip-invalid" not in refused.stderr, (path, refused.stderr)
            assert "nothing was uploaded (fix the file and run again)" in refused.stderr


def test_skip_invalid_is_suggested_with_what_it_would_upload(cli: Cli, tmp_path: Path) -> None:
    customer = cli.world.customer
    good = _rows(range(810, 812))
    bad = _write(tmp_path / "bad.csv", [HEADER, good[0], "X,,DummyHash123", good[1]])
    refused = cli("upload", str(bad), "--customer", customer)
    assert refused.exit_code == 3
    assert "or pass --skip-invalid to upload the other 2 devices" in refused.stderr
    # Every row bad: leaving the bad ones out leaves nothing, so it is not suggested.
    all_bad = _write(tmp_path / "all-bad.csv", [HEADER, "X,,DummyHash123", "Y,,AAAA"])
    for extra in ([], ["--skip-invalid"]):
        refused = cli("upload", str(all_bad), "--customer", customer, *extra)
        assert refused.exit_code == 3 and "--skip-invalid" not in refused.stderr


# -- waiting: Ctrl-C and --timeout ------------------------------------------------------------


def test_ctrl_c_while_waiting_says_the_jobs_go_on(
    cli_in_process: InProcessCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    path = _write(tmp_path / "d.csv", [HEADER, *_rows(range(820, 822))])

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises in the waiting loop

    monkeypatch.setattr(_common, "wait_all", interrupted)
    result = cli("upload", str(path), "--customer", customer, "--wait")
    assert result.exit_code == 130
    assert "interrupted: stopped waiting, but the job goes on in the server" in result.stderr
    assert f"`ztd status --customer {customer} " in result.stderr
    assert "--wait`" in result.stderr and "Traceback" not in result.output


def test_timeout_names_the_status_command(cli_in_process: InProcessCli, tmp_path: Path) -> None:
    cli, customer = cli_in_process, cli_in_process.world.customer
    path = _write(tmp_path / "d.csv", [HEADER, *_rows(range(830, 832))])
    cli.time.worker = None  # nothing gets processed
    stuck = cli("upload", str(path), "--customer", customer, "--wait", "--timeout", "3")
    assert stuck.exit_code == 4
    started = stuck.stdout or stuck.stderr
    assert "not finished within 3.0 s" in stuck.stderr
    assert f"follow it with `ztd status --customer {customer} " in stuck.stderr, started
    assert "continuation" not in stuck.stderr
    tracking = stuck.stderr.split(f"--customer {customer} ")[1].split()[0]
    status = cli("status", "--customer", customer, tracking, "--wait", "--timeout", "2")
    assert status.exit_code == 4
    assert f"`ztd status --customer {customer} {tracking} --wait`" in status.stderr


# -- a token from another data directory ------------------------------------------------------


def test_a_token_of_another_data_directory_says_so(
    cli: Cli, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = issue_token(
        KeyStore(tmp_path / "another-data-dir" / "keys"),
        issuer=settings.issuer,
        audience=settings.audience,
        partner_id=cli.world.partner,
        roles=(Role.ADMIN_AGENT,),
        ttl=timedelta(hours=1),
    )
    monkeypatch.setenv("ZTD_TOKEN", foreign)
    result = cli("batches", "list", "--customer", cli.world.customer)
    assert result.exit_code == 1
    assert "signed by a key this server does not know" in result.stderr
    assert "was it made with another ZTD_DATA_DIR?" in result.stderr


# -- the offline tools ------------------------------------------------------------------------


def test_demo_data_checks_clean_and_warnings_are_grouped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    runner, app = CliRunner(), make_app()
    clean = tmp_path / "clean.csv"
    assert (
        runner.invoke(app, ["demo-data", "-n", "300", "--seed", "3", "-o", str(clean)]).exit_code
        == 0
    )
    checked = runner.invoke(app, ["csv", "check", str(clean)])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[-1] == "0 errors, 0 warnings"

    # With --faults the same seed keeps the devices the checker warns about; each kind of
    # warning is printed once, with its count and first lines, on one unwrapped line.
    faulty = tmp_path / "faulty.csv"
    made = runner.invoke(
        app, ["demo-data", "-n", "300", "--seed", "3", "--faults", "-o", str(faulty)]
    )
    assert made.exit_code == 0
    checked = runner.invoke(app, ["csv", "check", str(faulty)])
    assert checked.exit_code == 0
    warned = [line for line in checked.stdout.splitlines() if line.startswith("warning ")]
    assert warned, checked.stdout
    codes = [line.split()[1] for line in warned]
    assert len(codes) == len(set(codes))  # once per code
    grouped = next(line for line in warned if " lines)" in line)
    assert " and " in grouped and "more: " in grouped and len(grouped) > 80  # not wrapped
    doc = json.loads(runner.invoke(app, ["csv", "check", str(faulty), "--json"]).stdout)
    assert doc["warnings"] == sum(
        int(line.split("(")[1].split()[0]) if " lines)" in line else 1 for line in warned
    )


def test_one_exit_code_table(tmp_path: Path) -> None:
    runner, app = CliRunner(), make_app()
    bad = _write(tmp_path / "bad.csv", [HEADER, "X,,DummyHash123"])
    assert runner.invoke(app, ["csv", "check", str(bad)]).exit_code == 3
    assert runner.invoke(app, ["csv", "check", str(tmp_path / "missing.csv")]).exit_code == 3
    assert runner.invoke(app, ["hash", "decode", "DummyHash123"]).exit_code == 3
    for command in (["upload", "--help"], ["csv", "check", "--help"], ["hash", "decode", "--help"]):
        shown = " ".join(runner.invoke(app, command).stdout.split())
        assert "3 the input is invalid" in shown, command


def test_help_reads_naturally() -> None:
    output = CliRunner().invoke(make_app(), ["upload", "--help"], env={"COLUMNS": "200"}).stdout
    shown = " ".join(output.split())
    assert "Usage: root upload [OPTIONS] FILE " in shown
    assert "<bool>" not in shown and "--wait Wait for every" in shown  # a flag has no metavar
    for metavar in ("--customer TENANT-ID", "--batch NAME", "--timeout SECONDS", "--per-request N"):
        assert metavar in shown, metavar
    assert "(s)" not in shown


# -- admin and serve --------------------------------------------------------------------------


def test_admin_lists_partners_and_customers_and_says_where_a_new_database_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZTD_DATABASE_URL", raising=False)
    monkeypatch.setenv("ZTD_DATA_DIR", str(tmp_path / "fresh"))
    runner = CliRunner()
    added = runner.invoke(ztd_app, ["admin", "partner", "add", "Fabrikam"])
    assert added.exit_code == 0, added.output
    assert "created a new database at" in added.stderr and "fresh" in added.stderr
    partner = added.stdout.strip()
    customer = runner.invoke(ztd_app, ["admin", "customer", "add", "Contoso", "--partner", partner])
    assert customer.exit_code == 0 and "created a new database" not in customer.stderr

    partners = runner.invoke(ztd_app, ["admin", "partner", "list"], env={"COLUMNS": "200"})
    assert partners.exit_code == 0
    assert (
        partner in partners.stdout
        and "Fabrikam" in partners.stdout
        and "1 partner" in partners.stdout
    )
    customers = runner.invoke(
        ztd_app, ["admin", "customer", "list", "--partner", partner], env={"COLUMNS": "200"}
    )
    assert customer.stdout.strip() in customers.stdout and "Contoso" in customers.stdout
    bad = runner.invoke(ztd_app, ["admin", "customer", "list", "--partner", "nope"])
    assert bad.exit_code == 1 and "not a GUID" in bad.stderr


def test_serve_checks_the_port_before_the_banner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZTD_DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(ztd_app, ["serve", "--demo", "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert f"--port {port + 1}" in result.stderr
    assert "token" not in result.stderr  # no banner for a server that would not start


def test_a_big_file_says_it_is_being_checked(
    cli_in_process: InProcessCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ztd.cli import output

    monkeypatch.setattr(output, "CHECK_PROGRESS_FROM", 1)  # every file counts as big
    path = _write(tmp_path / "big.csv", [HEADER, *_rows(range(840, 842))])
    checked = CliRunner().invoke(make_app(), ["csv", "check", str(path)])
    assert checked.exit_code == 0 and f"checking {path} (0 MB) ..." in checked.stderr
    uploaded = cli_in_process("upload", str(path), "--customer", cli_in_process.world.customer)
    assert uploaded.exit_code == 0 and f"checking {path} (0 MB) ..." in uploaded.stderr
    quiet = cli_in_process("csv", "check", str(path), "--json")
    assert "checking" not in quiet.stderr  # --json: nothing but the document


def test_a_second_partner_or_customer_of_the_same_name_is_refused_with_the_first_ones_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZTD_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    first = runner.invoke(ztd_app, ["admin", "partner", "add", "Fabrikam"]).stdout.strip()
    again = runner.invoke(ztd_app, ["admin", "partner", "add", " fabrikam "])
    assert again.exit_code == 1 and again.stdout == ""
    assert f"a partner named 'Fabrikam' already exists ({first})" in again.stderr  # as stored
    other = runner.invoke(ztd_app, ["admin", "partner", "add", "Northwind"]).stdout.strip()

    def add_customer(name: str, partner: str) -> Result:
        return runner.invoke(ztd_app, ["admin", "customer", "add", name, "--partner", partner])

    contoso = add_customer("Contoso", first).stdout.strip()
    twice = add_customer("CONTOSO", first)
    assert twice.exit_code == 1 and twice.stdout == ""
    assert f"a customer of this partner named 'Contoso' already exists ({contoso})" in twice.stderr
    elsewhere = add_customer("Contoso", other)  # another partner's customer of that name
    assert elsewhere.exit_code == 0 and elsewhere.stdout.strip() != contoso
    bad = add_customer("Contoso", "nope")
    assert bad.exit_code == 1 and "not a GUID" in bad.stderr
    for blank in ("", "   "):
        refused = runner.invoke(ztd_app, ["admin", "partner", "add", blank])
        assert refused.exit_code == 1 and "must not be empty or only spaces" in refused.stderr
    too_long = runner.invoke(ztd_app, ["admin", "partner", "add", "x" * 300])
    assert too_long.exit_code == 1 and "at most 256 characters, not 300" in too_long.stderr
    escape = runner.invoke(ztd_app, ["admin", "partner", "add", "Esc\x1b[31mRED"])
    assert escape.exit_code == 1 and "control or invisible characters (U+001B" in escape.stderr
    spaced = runner.invoke(
        ztd_app, ["admin", "customer", "add", "  Woodgrove  ", "--partner", first]
    )
    listed_customers = runner.invoke(
        ztd_app, ["admin", "customer", "list", "--partner", first], env={"COLUMNS": "200"}
    )
    assert spaced.exit_code == 0 and "│ Woodgrove " in listed_customers.stdout  # stored trimmed
    listed = runner.invoke(ztd_app, ["admin", "partner", "list"], env={"COLUMNS": "200"})
    assert "2 partners" in listed.stdout


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_serve_refuses_a_port_out_of_range(port: str) -> None:
    refused = CliRunner().invoke(ztd_app, ["serve", "--port", port])
    assert refused.exit_code == 3  # invalid input, as every usage error (README, exit codes)
    assert "not in the range 1<=x<=65535" in refused.output, refused.output
