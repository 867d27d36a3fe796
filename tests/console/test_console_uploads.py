"""The console's upload files (``console-uploads/``): bounded in age and in total size, and
removed once their job is purged; checked on real files and a real database."""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch
from tests.support.console import csrf_of, devices_csv, sign_in
from tests.support.world import World
from ztd.server.clock import utc_now
from ztd.server.console import store_reads, uploads
from ztd.server.jobs.worker import Worker
from ztd.server.services.housekeeping import purge_finished_jobs
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
    page = client.get(f"/console/customers/{world.customer}/upload")
    answer = client.post(
        f"/console/customers/{world.customer}/upload",
        data={"csrf": csrf_of(page.text), "new_batch": batch},
        files={"file": ("d.csv", devices_csv(seeds), "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[-1]


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
