"""`ztd upload` end to end: demo data, CSV checks before upload, progress, summaries."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from tests.support.cli import Cli
from ztd.identity import synthesize_device
from ztd.identity.dds import DEVICE_ALREADY_ASSIGNED
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs

HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


def test_demo_data_upload_wait_then_status_and_lists(cli: Cli, tmp_path: Path) -> None:
    csv_file = tmp_path / "d.csv"
    made = cli("demo-data", "--count", "1000", "--output", str(csv_file), "--seed", "7")
    assert made.exit_code == 0, made.output

    uploaded = cli("upload", str(csv_file), "--customer", cli.world.customer, "--wait")
    assert uploaded.exit_code == 0, uploaded.output
    assert "1000/1000" in uploaded.stderr  # the progress bar's final state
    counts = "1,000 of 1,000 devices processed, 1,000 succeeded, 0 failed"
    assert counts in uploaded.stdout
    # `ztd status` of the same job says it in the same words (it said "succeeded" where
    # upload said "registered"), and neither says it differently elsewhere.
    (line,) = [line for line in uploaded.stdout.splitlines() if line.startswith("batch job ")]
    tracking = line.split()[2].rstrip(":")
    shown = cli("status", "--customer", cli.world.customer, tracking)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == line == f"batch job {tracking}: finished; {counts}"

    listed = cli("batches", "list", "--customer", cli.world.customer, "--json")
    assert listed.exit_code == 0, listed.output
    [batch] = json.loads(listed.stdout)
    assert batch["id"].startswith("d-") and batch["devicesCount"] == 1000

    every = cli(
        "devices", "list", "--customer", cli.world.customer, "--batch", batch["id"], "--json"
    )
    assert every.exit_code == 0, every.output
    assert len({d["id"] for d in json.loads(every.stdout)}) == 1000  # ten pages of 100

    # The same file again, as JSON: every device is already registered to this customer.
    again = cli(
        "upload",
        str(csv_file),
        "--customer",
        cli.world.customer,
        "--batch",
        "again",
        "--wait",
        "--json",
    )
    assert again.exit_code == 2, again.output
    out = json.loads(again.stdout)
    assert out["batchId"] == "again" and out["devices"] == 1000
    result = out["result"]
    assert result["batchTrackingId"] == out["trackingId"]
    assert result["status"] == "finished"  # all processed; exit code 2 tells the failures
    assert {d["errorCode"] for d in result["devicesStatus"]} == {"806"}
    assert out["summary"] == [
        {
            "errorCode": "806",
            "errorDescription": "ZtdDeviceAlreadyAssigned",
            "devices": 1000,
            "remedy": DEVICE_ALREADY_ASSIGNED.remedy,
        }
    ]

    status = cli("status", "--customer", cli.world.customer, out["trackingId"], "--json")
    assert status.exit_code == 2
    assert json.loads(status.stdout) == result

    human = cli("status", "--customer", cli.world.customer, out["trackingId"])
    assert human.exit_code == 2
    assert "806 ZtdDeviceAlreadyAssigned: 1,000 devices" in human.stdout
    assert "... and 990 more" in human.stdout  # ten are listed, the rest counted
    assert "already registered to this customer" in human.stdout


def _bad_csv(path: Path) -> Path:
    good = [synthesize_device(i) for i in range(3)]
    rows = [
        HEADER,
        f"{good[0].serial},,{good[0].hardware_hash}",
        f"{good[1].serial},,{good[1].hardware_hash[:200]}",  # line 3: truncated hash
        f"{good[2].serial},,{good[2].hardware_hash}",
        ",,",  # line 5: nothing but delimiters is a blank row, skipped
        "ONLY-A-SERIAL,,",  # line 6: no identifier combination
    ]
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    return path


def test_bad_rows_refuse_the_file_before_upload(cli: Cli, tmp_path: Path, db: Database) -> None:
    bad = _bad_csv(tmp_path / "bad.csv")
    refused = cli("upload", str(bad), "--customer", cli.world.customer, "--wait")
    assert refused.exit_code == 3
    lines = refused.stderr.splitlines()
    assert any(line.startswith(f"{bad}:3: 802 InvalidZtdHardwareHash") for line in lines)
    assert any(
        line.startswith(f"{bad}:6: 803 MissingZtdSerialNumberAndProductKey") for line in lines
    )
    assert "nothing was uploaded" in refused.stderr
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 0

    skipped = cli(
        "upload", str(bad), "--customer", cli.world.customer, "--skip-invalid", "--wait", "--json"
    )
    assert skipped.exit_code == 0, skipped.output
    out = json.loads(skipped.stdout)
    assert (out["devices"], out["skipped"]) == (2, 2)
    assert out["result"]["status"] == "finished"


def test_json_input_and_upload_without_wait(cli: Cli, tmp_path: Path) -> None:
    d = synthesize_device(42)
    body = {
        "BatchId": "from json",
        "Devices": [{"SerialNumber": d.serial, "HardwareHash": d.hardware_hash}],
    }
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    started = cli("upload", str(path), "--customer", cli.world.customer, "--json")
    assert started.exit_code == 0, started.output
    out = json.loads(started.stdout)
    assert out["batchId"] == "from json"
    assert out["location"].endswith(out["trackingId"])

    waited = cli("status", "--customer", cli.world.customer, out["trackingId"], "--wait", "--json")
    assert waited.exit_code == 0, waited.output
    assert json.loads(waited.stdout)["status"] == "finished"

    twice = tmp_path / "twice.json"
    copy = {"serialNumber": d.serial, "hardwareHash": d.hardware_hash}
    other = synthesize_device(43)
    twice.write_text(
        json.dumps(
            [copy, {"serialNumber": other.serial, "hardwareHash": other.hardware_hash}, copy]
        ),
        encoding="utf-8",
    )
    refused_copy = cli("upload", str(twice), "--customer", cli.world.customer)
    assert refused_copy.exit_code == 3
    assert f"{twice}: device 3: ZtdDeviceDuplicated: same device as device 1" in refused_copy.stderr

    # A body built by hand, with trailing commas: the API takes it (as Newtonsoft does), so
    # the upload sends it rather than calling it invalid JSON.
    commas = tmp_path / "commas.json"
    commas.write_text(
        f'{{"BatchId": "commas", "Devices": [{{"HardwareHash": "{other.hardware_hash}",}},],}}',
        encoding="utf-8",
    )
    sent = cli("upload", str(commas), "--customer", cli.world.customer, "--wait", "--json")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["result"]["devicesStatus"][0]["serialNumber"] == other.serial

    broken = tmp_path / "broken.json"
    broken.write_text('[{"serial_number": "x"}, 3]', encoding="utf-8")
    refused = cli("upload", str(broken), "--customer", cli.world.customer)
    assert refused.exit_code == 3
    assert f"{broken}: device 1: 803 MissingZtdSerialNumberAndProductKey" in refused.stderr
    assert f"{broken}: device 2: not a JSON object" in refused.stderr


def test_an_upload_over_the_request_limit_goes_in_several_jobs(
    cli: Cli, tmp_path: Path, db: Database
) -> None:
    """More devices than --per-request: the first request creates the batch, the others add
    to it; one progress bar, one summary and one exit code cover every job."""
    csv_file = tmp_path / "many.csv"
    made = cli("demo-data", "--count", "7", "--output", str(csv_file), "--seed", "11")
    assert made.exit_code == 0, made.output

    split = cli(
        "upload", str(csv_file), "--customer", cli.world.customer, "--batch", "many",
        "--per-request", "3", "--wait", "--json",
    )  # fmt: skip
    assert split.exit_code == 0, split.output
    out = json.loads(split.stdout)
    assert [job["devices"] for job in out["jobs"]] == [3, 3, 1]
    assert out["trackingId"] == out["jobs"][0]["trackingId"] and "result" not in out
    assert [r["batchTrackingId"] for r in out["results"]] == [j["trackingId"] for j in out["jobs"]]
    assert all(r["status"] == "finished" for r in out["results"]) and out["summary"] == []
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 3
    listed = cli("batches", "list", "--customer", cli.world.customer, "--json")
    [batch] = json.loads(listed.stdout)
    assert (batch["id"], batch["devicesCount"]) == ("many", 7)

    human = cli(
        "upload", str(csv_file), "--customer", cli.world.customer, "--batch", "again",
        "--per-request", "5", "--wait",
    )  # fmt: skip
    assert human.exit_code == 2  # every device is already this customer's: 806
    assert "7/7" in human.stderr  # one bar over both jobs
    assert "all 2 jobs: 7 of 7 devices processed, 0 succeeded, 7 failed" in human.stdout
    assert "ZtdDeviceAlreadyAssigned" in human.stdout

    started = cli(
        "upload", str(csv_file), "--customer", cli.world.customer, "--batch", "later",
        "--per-request", "5",
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    assert "in 2 requests (jobs)" in started.stdout
    assert started.stdout.count("follow it with: ztd status") == 2


def test_when_a_later_request_fails_the_jobs_already_started_are_named(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    """Three product-key devices fit the body limit, three with hashes do not: the first job
    exists and runs, and the command says so before its error."""
    small = [{"productKey": f"{n:013d}", "serialNumber": f"PK-{n}"} for n in range(3)]
    large = [
        {"serialNumber": d.serial, "hardwareHash": d.hardware_hash}
        for d in (synthesize_device(60 + n) for n in range(3))
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(small + large), encoding="utf-8")
    settings.max_body_bytes = 5_000  # the live server reads its settings per request

    result = cli("upload", str(path), "--customer", cli.world.customer, "--per-request", "3")
    assert result.exit_code == 1
    *_warnings, notice, follow, unsent, error = [
        line for line in result.stderr.splitlines() if line.strip()
    ]
    assert notice.startswith("3 of 6 devices were sent into batch 'mixed-")
    assert "' before the error below, as job " in notice
    assert notice.endswith("; they are processed regardless")
    assert follow.startswith(f"follow it with: `ztd status --customer {cli.world.customer} ")
    assert unsent == "not sent: devices 4 to 6 (3); send them again once the error is fixed"
    assert error.startswith("error: ") and "413" in error


def test_json_files_as_windows_writes_them_and_fields_of_the_wrong_type(
    cli: Cli, tmp_path: Path
) -> None:
    """Found in review: a number where a string belongs printed a traceback, and JSON with a
    BOM or in UTF-16 (Windows PowerShell 5.1's Out-File) was refused."""
    d = synthesize_device(44)
    devices = [{"serialNumber": d.serial, "hardwareHash": d.hardware_hash}]
    utf16 = tmp_path / "from-powershell.json"
    utf16.write_bytes(json.dumps(devices).encode("utf-16"))  # with its BOM
    bom = tmp_path / "bom.txt"  # no .json suffix: recognised by its content
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"batchId": "bom", "devices": devices}).encode())
    for path in (utf16, bom):
        result = cli("upload", str(path), "--customer", cli.world.customer, "--json")
        assert result.exit_code == 0, result.output

    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps([{"serialNumber": 12345, "productKey": "x"}]), encoding="utf-8")
    refused = cli("upload", str(typed), "--customer", cli.world.customer)
    assert refused.exit_code == 3, refused.output
    assert f"{typed}: device 1: serialNumber:" in refused.stderr
    assert "Traceback" not in refused.output


def test_upload_warns_about_placeholder_serials(cli: Cli, tmp_path: Path) -> None:
    from ztd.identity.synthetic import synthesize_hash

    vms = [
        synthesize_hash(seed, serial="SMBIOS_STRING_INDEX_0", manufacturer="QEMU")
        for seed in (3, 4)
    ]
    path = tmp_path / "vms.csv"
    path.write_text("\n".join([HEADER, *(f",,{h}" for h in vms)]) + "\n", encoding="utf-8")
    done = cli("upload", str(path), "--customer", cli.world.customer, "--wait")
    assert done.exit_code == 0, done.output
    # Shown without `ztd csv check`, once for the code, with the lines that have it.
    assert (
        "warning placeholder-serial (2 lines), lines 2, 3: the hash's serial number "
        "'SMBIOS_STRING_INDEX_0' is a firmware placeholder" in done.stderr
    )
    assert "recapture the hash" in done.stderr


def test_a_json_file_giving_a_property_twice_is_refused_naming_it(
    cli: Cli, tmp_path: Path, db: Database
) -> None:
    """The rule the service applies to request bodies (json_keys): whichever value a reader
    kept, the other device would be registered; in UTF-16 too."""
    d, e = synthesize_device(45), synthesize_device(46)
    for n, (text, path) in enumerate(
        [
            (
                f'[{{"serialNumber":"{d.serial}","hardwareHash":"{d.hardware_hash}"}},'
                f'{{"serialNumber":"{e.serial}","hardwareHash":"{e.hardware_hash}",'
                f'"SerialNumber":"{d.serial}"}}]',
                "[1].SerialNumber",
            ),
            (
                f'{{"batchId":"a","BatchId":"b","devices":[{{"serialNumber":"{d.serial}",'
                f'"hardwareHash":"{d.hardware_hash}"}}]}}',
                "BatchId",
            ),
        ]
    ):
        file = tmp_path / f"twice-{n}.json"
        file.write_bytes(text.encode("utf-16") if n else text.encode())
        refused = cli("upload", str(file), "--customer", cli.world.customer)
        assert refused.exit_code == 3, refused.output
        assert f"{file}: {path}: " in refused.stderr
        assert "Traceback" not in refused.output
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(batch_jobs)).scalar() == 0
