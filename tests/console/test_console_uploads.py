"""The console's upload files (``console-uploads/``): bounded in age and in total size, and
removed once their job is purged; checked on real files and a real database."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.api import create_batch
from tests.support.cli import make_app
from tests.support.console import csrf_of, devices_csv, sign_in
from tests.support.oem_records import import_oem
from tests.support.world import World
from ztd.identity.csv_columns import field_of
from ztd.server.clock import utc_now
from ztd.server.console import store_reads, uploads
from ztd.server.jobs.worker import Worker
from ztd.server.services.housekeeping import purge_finished_jobs
from ztd.server.settings import RegistrationMode, Settings
from ztd.server.storage.database import Database

DAY = 24 * 3600.0


def _file(folder: Path, size: int, age_seconds: float, now: float, name: str | None = None) -> Path:
    path = folder / (name or f"{uuid.uuid4()}.json")
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age_seconds, now - age_seconds))
    return path


def test_purge_keeps_what_job_pages_need_and_nothing_more(tmp_path: Path) -> None:
    folder = tmp_path / uploads.FOLDER
    folder.mkdir()
    now = time.time()
    fresh = _file(folder, 10, 60, now)
    old = _file(folder, 10, uploads.MAX_AGE_SECONDS + 60, now)
    orphan = _file(folder, 10, 60, now)  # its job was purged
    crashed = _file(folder, 10, 2 * 3600, now, name=f"{uuid.uuid4()}.json.123.tmp")
    writing = _file(folder, 10, 5, now, name=f"{uuid.uuid4()}.json.456.tmp")
    foreign = _file(folder, 10, 100 * DAY, now, name="README.txt")  # not ours: left alone
    asked: list[set[str]] = []

    def stored(ids: object) -> set[str]:
        asked.append(set(ids))  # type: ignore[call-overload]
        return {fresh.stem, old.stem}

    removed = uploads.purge(tmp_path, stored, now=now)
    assert sorted(removed) == sorted([old.name, orphan.name, crashed.name])
    assert asked == [{fresh.stem, old.stem, orphan.stem}]
    assert {p.name for p in folder.iterdir()} == {fresh.name, writing.name, foreign.name}
    assert uploads.purge(tmp_path, stored, now=now) == []  # nothing left to do


def test_purge_removes_the_oldest_while_over_the_size_cap(tmp_path: Path) -> None:
    folder = tmp_path / uploads.FOLDER
    folder.mkdir()
    now = time.time()
    files = [_file(folder, 400, age, now) for age in (50, 40, 30, 20, 10)]  # oldest first
    every = {p.stem for p in files}
    removed = uploads.purge(tmp_path, lambda ids: every, now=now, max_total_bytes=1000)
    assert removed == [files[0].name, files[1].name, files[2].name]
    assert sorted(folder.iterdir()) == sorted(files[3:])
    assert uploads.purge(tmp_path, lambda ids: every, now=now, max_total_bytes=800) == []


@pytest.mark.parametrize(
    ("age", "max_age", "gone"), [(10.0, 20.0, False), (20.5, 20.0, True), (0.0, 0.0, False)]
)
def test_purge_age_bound_variants(tmp_path: Path, age: float, max_age: float, gone: bool) -> None:
    folder = tmp_path / uploads.FOLDER
    folder.mkdir()
    now = time.time()
    path = _file(folder, 1, age, now)
    removed = uploads.purge(tmp_path, lambda ids: {path.stem}, now=now, max_age_seconds=max_age)
    assert (removed == [path.name]) is gone and path.exists() is not gone


def test_purge_without_a_folder_does_nothing(tmp_path: Path) -> None:
    assert uploads.purge(tmp_path, lambda ids: set()) == []


def _upload(client: TestClient, world: World, batch: str, seeds: range) -> str:
    return _upload_file(client, world, batch, devices_csv(seeds), name="d.csv")


def test_an_upload_file_goes_when_its_job_is_purged(
    client: TestClient, world: World, worker: Worker, db: Database, tmp_path: Path
) -> None:
    sign_in(client, world.token)
    data_dir = tmp_path / "data"
    first = _upload(client, world, "first", range(700, 703))
    assert (data_dir / uploads.FOLDER / f"{first}.json").is_file()
    assert store_reads.jobs_stored(db, [first, first.upper(), str(uuid.uuid4())]) == {first}
    worker.run_until_idle()
    job_page = client.get(f"/console/customers/{world.customer}/jobs/{first}")
    assert "From <strong>d.csv</strong>" in job_page.text  # the file serves the job page

    # The worker's housekeeping purges the finished job; the next upload sweeps its file.
    assert purge_finished_jobs(db, now=utc_now() + timedelta(days=1), retention_days=0.5) == 1
    second = _upload(client, world, "second", range(710, 712))
    names = {p.name for p in (data_dir / uploads.FOLDER).iterdir()}
    assert names == {f"{second}.json"}


def test_the_job_page_shows_why_a_device_was_refused(
    client: TestClient, world: World, worker: Worker
) -> None:
    """A job sent through the API with a damaged hash: the console's failure table gives the
    status entry's errorDetail next to the device."""
    tracking = create_batch(
        client,
        world.customer,
        world.auth(),
        "api",
        [{"SerialNumber": "CUT-1", "HardwareHash": "abc"}],
    )
    worker.run_until_idle()
    sign_in(client, world.token)
    page = client.get(f"/console/customers/{world.customer}/jobs/{tracking}")
    assert page.status_code == 200
    row = re.search(r"<tr><td>[^<]*</td><td>CUT-1</td>.*?</tr>", page.text, re.S)
    assert row and "base64 length 3 is not a multiple of 4" in row.group(0)


STRICT_OEM = [("LENOVO", "21R3001BUK", "R9Y0Y28G"), ("LENOVO", "20XW004GUS", "PCYJD2AT")]
CASE_DETAIL = (
    "manufacturer 'Lenovo' differs from the OEM record's 'LENOVO' "
    "(only in letter case; the tuple is case-sensitive)"
)
MODEL_DETAIL = "model 'ThinkPad X1, Carbon' differs from the OEM record's '20XW004GUS'"


def _upload_file(
    client: TestClient, world: World, batch: str, data: bytes, name: str = "failed.csv"
) -> str:
    """Upload ``data`` as the CSV file ``name`` into a new batch through the console's form;
    the job id its redirect names."""
    page = client.get(f"/console/customers/{world.customer}/upload")
    answer = client.post(
        f"/console/customers/{world.customer}/upload",
        data={"csrf": csrf_of(page.text), "new_batch": batch},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[-1]


def test_the_failed_rows_export_says_why_each_failed_and_goes_back_once_fixed(
    client: TestClient, world: World, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Strict mode's 812s name the field that differs (errorDetail): the job page and the
    export give it per device, and the exported file, fixed, is checked and uploaded as it is
    (the note columns are read past, each with a warning)."""
    settings.registration_mode = RegistrationMode.STRICT
    worker = Worker(db, settings)  # reads the mode when made
    import_oem(db, STRICT_OEM)
    sign_in(client, world.token)
    tuples = (
        "Device Serial Number,Manufacturer name,Device model\r\n"
        "R9Y0Y28G,Lenovo,21R3001BUK\r\n"
        'PCYJD2AT,LENOVO,"ThinkPad X1, Carbon"\r\n'
    )
    job = _upload_file(client, world, "tuples", tuples.encode())
    worker.run_until_idle()
    page = html.unescape(client.get(f"/console/customers/{world.customer}/jobs/{job}").text)
    assert CASE_DETAIL in page and MODEL_DETAIL in page

    export = client.get(f"/console/customers/{world.customer}/jobs/{job}/failures.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(export.text))
    assert reader.fieldnames == [  # the device columns, then the notes, in this order
        "Device Serial Number",
        "Windows Product ID",
        "Hardware Hash",
        "Manufacturer name",
        "Device model",
        "Error code",
        "Error",
        "Error detail",
        "Original line",
    ]
    rows = list(reader)
    assert [(r["Error code"], r["Error detail"], r["Original line"]) for r in rows] == [
        ("812", CASE_DETAIL, "line 2"),
        ("812", MODEL_DETAIL, "line 3"),
    ]

    # `ztd csv check` reads the exported file: no error, each note column said to be ignored.
    exported = tmp_path / "failed.csv"
    exported.write_text(export.text, encoding="utf-8", newline="")
    checked = CliRunner().invoke(make_app(), ["csv", "check", str(exported), "--json"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert (report["devices"], report["errors"]) == (2, 0)
    ignored = {
        d["column"]: d["message"] for d in report["diagnostics"] if d["code"] == "unknown-column"
    }
    assert set(ignored) == set(uploads.NOTE_COLUMNS)
    assert all("is not a device field and is ignored" in m for m in ignored.values())

    # Fixed as the details say, the same file (notes included) registers both devices.
    rows[0]["Manufacturer name"], rows[1]["Device model"] = "LENOVO", "20XW004GUS"
    fixed = io.StringIO()
    writer = csv.DictWriter(fixed, fieldnames=reader.fieldnames, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    again = _upload_file(client, world, "tuples fixed", fixed.getvalue().encode())
    worker.run_until_idle()
    page = client.get(f"/console/customers/{world.customer}/jobs/{again}").text
    assert 'id="no-failures"' in page and 'id="count-done">2<' in page
    assert "Every device succeeded" in page  # the CLI's word, whatever the job's kind


def test_the_export_keeps_a_detail_on_one_line_and_its_quotes() -> None:
    """Variants the service's details may carry (a value's quotes and commas, a line break):
    the cell reads back as the detail, on one line, and the file stays one row a device."""
    sent = uploads.SentDevice("line 7", "S1", None, None, "O'Brien, Inc.", 'Model "X"')
    details = [
        "manufacturer \"O'Brien, Inc.\" differs from the OEM record's 'OBRIEN'",
        "first\nsecond\r\n  third",
        "",
    ]
    entries = [{"errorCode": "812", "errorDescription": "ZtdDeviceNotFound"}] * len(details)
    text = uploads.failed_rows_csv(
        [
            (sent, {**entry, "errorDetail": d} if d else entry)
            for entry, d in zip(entries, details, strict=True)
        ]
    )
    assert text.count("\r\n") == 1 + len(details) and "\n" not in text.replace("\r\n", "")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Error detail"] for r in rows] == [details[0], "first second third", ""]
    assert {(r["Manufacturer name"], r["Device model"], r["Original line"]) for r in rows} == {
        ("O'Brien, Inc.", 'Model "X"', "line 7")
    }
    assert not any(field_of(column) for column in uploads.NOTE_COLUMNS)  # never a device's
