"""What the console remembers of an upload it sent: each device's CSV line (or JSON position)
and what was read there, so the job page names lines and exports the failed rows as a file
to fix and upload again. One small JSON file per job under the data directory, shared by
every server process; the API's own records stay as they are."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from ztd.cli.findings import Group
from ztd.cli.partner_commands import InputFile

_SAFE_ID = re.compile(r"[0-9a-f-]{36}")
EXPORT_COLUMNS = (
    "Device Serial Number",
    "Windows Product ID",
    "Hardware Hash",
    "Manufacturer name",
    "Device model",
)


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
    return data_dir / "console-uploads" / f"{job_id}.json"


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
    path.write_bytes(orjson.dumps(asdict(sent)))


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
    with the error and the original line last, for fixing and uploading again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*EXPORT_COLUMNS, "Error code", "Error", "Original line"])
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
                sent.where if sent else "",
            ]
        )
    return out.getvalue()
