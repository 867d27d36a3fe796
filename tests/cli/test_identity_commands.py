"""`ztd hash decode`, `ztd csv check` and `ztd demo-data` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.support.real_devices import case, real_csv_dir
from ztd.cli.identity_commands import register
from ztd.identity.csv_reader import check_devices, read_devices
from ztd.identity.input_file import read_input
from ztd.identity.synthetic import regenerate_hash, synthesize_device

runner = CliRunner()
DEV = synthesize_device(5)


def _flat(output: str) -> str:
    """Rich wraps at the terminal width; compare text with whitespace collapsed."""
    return " ".join(output.split())


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keeps Typer from collapsing a single command into the root."""

    register(app)
    return app


APP = _app()


def test_hash_decode_readable() -> None:
    result = runner.invoke(APP, ["hash", "decode", DEV.hardware_hash])
    assert result.exit_code == 0, result.output
    assert DEV.serial in result.output and DEV.model in result.output
    assert "valid" in result.output


def test_hash_decode_records_and_stdin() -> None:
    result = runner.invoke(APP, ["hash", "decode", "-", "--records"], input=DEV.hardware_hash)
    assert result.exit_code == 0, result.output
    assert "SMBIOS serial number" in result.output and "Records" in result.output


def test_hash_decode_json() -> None:
    result = runner.invoke(APP, ["hash", "decode", DEV.hardware_hash, "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["ok"] is True and doc["decoded"]["serial"] == DEV.serial
    assert doc["decoded"]["pkid"] == DEV.pkid and doc["errors"] == []


def test_hash_decode_invalid_exits_3() -> None:
    result = runner.invoke(APP, ["hash", "decode", "DummyHash123"])
    assert result.exit_code == 3 and "too-short" in result.output
    doc = json.loads(runner.invoke(APP, ["hash", "decode", "DummyHash123", "--json"]).output)
    assert doc["ok"] is False and doc["decoded"] is None
    assert doc["errors"][0]["code"] == "too-short"


def test_csv_check_real_fixture_passes() -> None:
    path = real_csv_dir() / "hp-elitebook-840-g8.csv"
    result = runner.invoke(APP, ["csv", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 device," in _flat(result.output) and "0 errors" in result.output


def test_csv_check_reports_errors_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Device Serial Number,Windows Product ID,Hardware Hash\r\n"
        f"{DEV.serial},,{DEV.hardware_hash}\r\n"
        "X,,DummyHash123\r\n"
    )
    result = runner.invoke(APP, ["csv", "check", str(path), "--json"])
    assert result.exit_code == 3
    doc = json.loads(result.output)
    assert doc["devices"] == 2 and doc["errors"] == 1
    [err] = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert err["line"] == 3 and err["code"] == "InvalidZtdHardwareHash"
    readable = runner.invoke(APP, ["csv", "check", str(path)])
    assert readable.exit_code == 3 and "1 error," in readable.output


def test_csv_check_of_the_powershell_module_body_passes(tmp_path: Path) -> None:
    # case09: `ztd upload` takes it, so the checker must not call it a CSV without a header.
    path = tmp_path / "case09.json"
    path.write_bytes(case("case09-powershell-module-body.json"))
    result = runner.invoke(APP, ["csv", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert _flat(result.output).startswith(f"{path}: JSON, 1 device without errors")
    assert "0 errors, 0 warnings" in result.output


def test_csv_check_of_json_bodies_says_what_upload_would_refuse(tmp_path: Path) -> None:
    # Variants built here: a body with another casing of "Devices", a bare array read from
    # stdin, bad devices next to good ones, a recapture of one machine, a placeholder serial.
    other = synthesize_device(6)
    body = {
        "batchid": "b",
        "DEVICES": [
            {"HardwareHash": DEV.hardware_hash},
            {"HardwareHash": "DummyHash123"},
            {"SerialNumber": "ONLY-A-SERIAL"},
            {"hardwareHash": regenerate_hash(5)},  # the first machine, read again
            {
                "serialNumber": "Default string",
                "oemManufacturerName": "QEMU",
                "modelName": "Standard PC",
                "productKey": other.pkid,
            },
        ],
    }
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    result = runner.invoke(APP, ["csv", "check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{path}: JSON, 2 devices without errors"
    errors = [line for line in lines if line.startswith("error: ")]
    assert [e.split(": ")[2] for e in errors] == ["device 2", "device 3", "device 4"]
    assert "802 InvalidZtdHardwareHash" in errors[0] and "803" in errors[1]
    assert "same device as device 1" in errors[2]
    assert any(line.startswith("warning placeholder-serial, device 5: ") for line in lines)
    assert lines[-1] == "3 errors, 1 warning"

    as_json = runner.invoke(APP, ["csv", "check", "-", "--json"], input=json.dumps(body["DEVICES"]))
    assert as_json.exit_code == 3
    doc = json.loads(as_json.output)
    assert (doc["format"], doc["devices"], doc["errors"], doc["warnings"]) == ("json", 2, 3, 1)
    assert doc["diagnostics"][0]["device"] == 5
    # The checker's verdict is the upload's: the same problems, in the same words.
    loaded = read_input(path, path.read_bytes(), skip_invalid=False)
    assert [e.removeprefix("error: ") for e in errors] == loaded.problems


def test_csv_check_reports_an_unterminated_quote_once_where_it_opens(tmp_path: Path) -> None:
    """Found in a new-user tryout: it used to be an 803 plus a quoting warning."""
    other = synthesize_device(6)
    path = tmp_path / "open-quote.csv"
    path.write_text(
        "Device Serial Number,Windows Product ID,Hardware Hash\r\n"
        f"{DEV.serial},,{DEV.hardware_hash}\r\n"
        f'"{other.serial},,{other.hardware_hash}\r\n'
        "THIRD,,\r\n"
    )
    doc = json.loads(runner.invoke(APP, ["csv", "check", str(path), "--json"]).output)
    [finding] = [d for d in doc["diagnostics"] if d["line"] > 1]
    assert (finding["line"], finding["severity"], finding["code"]) == (
        3,
        "error",
        "unterminated-quote",
    )
    assert "line 3, column 1" in finding["message"]
    readable = runner.invoke(APP, ["csv", "check", str(path)])
    assert readable.exit_code == 3 and "1 error," in readable.output
    assert "803" not in readable.output and "quoted-field" not in readable.output


def test_csv_check_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n")
    result = runner.invoke(APP, ["csv", "check", str(path)])
    assert result.exit_code == 3 and "no recognizable header" in _flat(result.output)
    missing = runner.invoke(APP, ["csv", "check", str(tmp_path / "missing.csv")])
    assert missing.exit_code == 3


def test_demo_data_is_valid_and_deterministic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    for path, seed in ((a, "9"), (b, "9"), (c, "10")):
        result = runner.invoke(
            APP, ["demo-data", "--count", "25", "--output", str(path), "--seed", seed]
        )
        assert result.exit_code == 0, result.output
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    data = a.read_bytes()
    assert data.startswith(b"Device Serial Number,Windows Product ID,Hardware Hash\r\n")
    data.decode("utf-8")  # UTF-8, no BOM
    assert not data.startswith(b"\xef\xbb\xbf")
    parsed = read_devices(data)
    assert len(parsed.devices) == 25 and not check_devices(parsed)
    assert all(len(d.hardware_hash or "") == 4000 for d in parsed.devices)
    assert sum(d.product_key is not None for d in parsed.devices) >= 20
    checked = runner.invoke(APP, ["csv", "check", str(a)])
    assert checked.exit_code == 0
