"""What the console remembers of an upload it sent: each device's CSV line (or JSON position)
and what was read there, so the job page names lines and exports the failed rows as a file
to fix and upload again. One JSON file per job under the data directory's
``console-uploads/``, shared by every server process; the API's own records stay as they are.

The files are bounded (:func:`purge`): one goes when its job is no longer stored (the worker
purges finished jobs after their retention), when it is older than ``MAX_AGE_SECONDS``, and
oldest first while they take more than ``MAX_TOTAL_BYTES`` together. A file being written is
a temporary one renamed into place, so a reader never sees half of it."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from ztd.identity.findings import Group
from ztd.identity.input_file import InputFile

_SAFE_ID = re.compile(r"[0-9a-f-]{36}")
FOLDER = "console-uploads"
MAX_AGE_SECONDS = 7 * 24 * 3600.0  # a week to fix and upload the failed rows again
MAX_TOTAL_BYTES = 1024**3  # a 10,000-device CSV with hashes takes some 45 MB
_TEMPORARY_AT_MOST_SECONDS = 3600.0  # a temporary file left by a crashed writer
EXPORT_COLUMNS = (
    "Device Serial Number",
    "Windows Product ID",
    "Hardware Hash",
    "Manufacturer name",
    "Device model",
)
# After the device columns, notes for whoever fixes the rows. None may be a device field's
# name (ztd.identity.csv_columns): `ztd csv check` and the upload page read past them, with a
# warning that each is ignored, so the exported file goes back as it is once fixed.
NOTE_COLUMNS = ("Error code", "Error", "Error detail", "Original line")


@dataclass(frozen=True)
class SentDevice:
    where: str  # "line 7" or "device 3"
    serial: str | None
    product_key: str | None
    hardware_hash: str | None
    manufacturer: str | None
    model: str | None


@dataclass
class SentUpload:
    filename: str
    devices: list[SentDevice]
    warnings: list[dict[str, Any]]


def _path(data_dir: Path, job_id: str) -> Path | None:
    job_id = job_id.lower()
    if not _SAFE_ID.fullmatch(job_id):
        return None
    return data_dir / FOLDER / f"{job_id}.json"


def remember(
    data_dir: Path, job_id: str, filename: str, loaded: InputFile, warnings: list[Group]
) -> None:
    path = _path(data_dir, job_id)
    if path is None:
        return
    sent = SentUpload(
        filename,
        [
            SentDevice(
                origin.where,
                device.serial_number,
                device.product_key,
                device.hardware_hash,
                device.oem_manufacturer_name,
                device.model_name,
            )
            for device, origin in zip(loaded.devices, loaded.origins, strict=True)
        ],
        [{"code": g.code, "message": g.message, "count": len(g.wheres)} for g in warnings],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(orjson.dumps(asdict(sent)))
    temporary.replace(path)


def purge(
    data_dir: Path,
    jobs_stored: Callable[[Iterable[str]], set[str]],
    *,
    now: float | None = None,
    max_age_seconds: float = MAX_AGE_SECONDS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> list[str]:
    """Remove the files no job page needs any more; returns their names.

    ``jobs_stored(ids)`` answers which of the job ids still exist. ``now`` is a POSIX time
    (the files' modification times are compared with it; default: the clock). Files of
    other names, and ones removed meanwhile by another process, are left alone."""
    folder = data_dir / FOLDER
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    files: list[tuple[float, int, Path]] = []  # (modified, size, path)
    removed: list[str] = []
    for entry in os.scandir(folder):
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue
        path = Path(entry.path)
        if entry.name.endswith(".tmp"):
            if now - stat.st_mtime > _TEMPORARY_AT_MOST_SECONDS and _unlink(path):
                removed.append(entry.name)
        elif entry.name.endswith(".json") and _SAFE_ID.fullmatch(entry.name[:-5]):
            files.append((stat.st_mtime, stat.st_size, path))
    stored = jobs_stored([path.stem for _, _, path in files]) if files else set()
    kept: list[tuple[float, int, Path]] = []
    for modified, size, path in files:
        if (now - modified > max_age_seconds or path.stem not in stored) and _unlink(path):
            removed.append(path.name)
        else:
            kept.append((modified, size, path))
    total = sum(size for _, size, _ in kept)
    for _, size, path in sorted(kept, key=lambda file: file[0]):
        if total <= max_total_bytes:
            break
        if _unlink(path):
            removed.append(path.name)
        total -= size
    return removed


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:  # another server process purged it first
        return False
    return True


def recall(data_dir: Path, job_id: str) -> SentUpload | None:
    path = _path(data_dir, job_id)
    if path is None or not path.is_file():
        return None
    raw = orjson.loads(path.read_bytes())
    return SentUpload(
        raw["filename"], [SentDevice(**d) for d in raw["devices"]], list(raw["warnings"])
    )


def failed_rows_csv(rows: list[tuple[SentDevice | None, dict[str, Any]]]) -> str:
    """The failed devices as an Autopilot CSV (the columns `ztd upload` and Intune read),
    then NOTE_COLUMNS: the error, why this device (the status entry's ``errorDetail``, e.g.
    which field differs from the OEM record) and the original line, for fixing and uploading
    again. The checker reads the device columns and warns that the notes are ignored."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*EXPORT_COLUMNS, *NOTE_COLUMNS])
    for sent, entry in rows:
        writer.writerow(
            [
                (sent.serial if sent else None) or entry.get("serialNumber") or "",
                (sent.product_key if sent else None) or entry.get("productKey") or "",
                (sent.hardware_hash if sent else None) or "",
                (sent.manufacturer if sent else None) or "",
                (sent.model if sent else None) or "",
                entry.get("errorCode") or "",
                entry.get("errorDescription") or "",
                # On one line: a line break in a cell makes the checker warn about the row.
                " ".join(str(entry.get("errorDetail") or "").split()),
                sent.where if sent else "",
            ]
        )
    return out.getvalue()
