"""The OEM device registry: hardware hashes OEMs supplied, keyed like the device registry.

A PKID-only or tuple upload carries no hash; resolving it here gives the device the identity
the OEM's hash has (manufacturer + serial and PKID), so the same machine is recognised
however it is uploaded. Set-based: one query per chunk and key kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ztd.identity import analyze_device
from ztd.identity.hash_text import canonical_text
from ztd.server.storage.bulk import dialect_insert
from ztd.server.storage.in_lists import in_slices
from ztd.server.storage.schema import oem_devices


@dataclass(frozen=True, slots=True)
class OemRecord:
    hardware_key: str
    pkid_key: str | None
    serial_number: str
    manufacturer: str
    model_name: str | None


@dataclass(frozen=True, slots=True)
class ImportProblem:
    where: str  # "line 7" or "record 3"
    reason: str


def prepare_records(
    rows: Iterable[tuple[str, dict[str, str | None]]],
) -> tuple[list[dict[str, Any]], list[ImportProblem]]:
    """Check each (location, device fields) row; only rows with a valid hash are importable."""
    records: list[dict[str, Any]] = []
    problems: list[ImportProblem] = []
    for where, row in rows:
        sent_hash = row.get("hardware_hash")
        if not sent_hash:
            problems.append(ImportProblem(where, "no hardware hash: OEM records need one"))
            continue
        identity = analyze_device(
            serial_number=row.get("serial_number"),
            product_key=row.get("product_key"),
            hardware_hash=sent_hash,
            manufacturer=row.get("manufacturer"),
            model=row.get("model"),
        )
        if identity.error is not None or identity.hardware_key is None:
            reason = identity.detail or (identity.error.name if identity.error else "no identity")
            problems.append(ImportProblem(where, reason))
            continue
        records.append(
            {
                "hardware_key": identity.hardware_key,
                "pkid_key": identity.pkid,
                "serial_number": identity.serial_number,
                "manufacturer": identity.manufacturer,
                "model_name": identity.model,
                "hardware_hash": canonical_text(sent_hash),  # as uploads store it
            }
        )
    return records, problems


def import_records(conn: Connection, records: Sequence[dict[str, Any]], now: datetime) -> int:
    """Insert records not known yet; returns how many were new."""
    if not records:
        return 0
    before = _count(conn)
    conn.execute(
        dialect_insert(conn, oem_devices).on_conflict_do_nothing(),
        [{**record, "imported_at": now} for record in records],
    )
    return _count(conn) - before


def resolve(
    conn: Connection, pkids: Sequence[str], hardware_keys: Sequence[str]
) -> tuple[dict[str, OemRecord], dict[str, OemRecord]]:
    """OEM records by PKID and by hardware key, for the given keys."""
    by_pkid: dict[str, OemRecord] = {}
    by_key: dict[str, OemRecord] = {}
    for column, keys in (
        (oem_devices.c.pkid_key, pkids),
        (oem_devices.c.hardware_key, hardware_keys),
    ):
        for part in in_slices(keys):
            for row in conn.execute(select(oem_devices).where(column.in_(part))):
                record = OemRecord(
                    row.hardware_key,
                    row.pkid_key,
                    row.serial_number,
                    row.manufacturer,
                    row.model_name,
                )
                by_key[record.hardware_key] = record
                if record.pkid_key:
                    by_pkid[record.pkid_key] = record
    return by_pkid, by_key


def tuple_differences(
    record: OemRecord, serial: str | None, manufacturer: str | None, model: str | None
) -> list[str]:
    """How an uploaded manufacturer / model / serial tuple differs from the OEM record it
    resolved to (by its identity key, which ignores letter case and look-alikes); empty
    when it matches exactly.

    Exact is what Partner Center documents for tuple registration: the values must be the
    SMBIOS strings the OEM reported, letter case included ("LENOVO", not "Lenovo"). Only
    surrounding whitespace is ignored, as everywhere else in a device entry."""
    differences: list[str] = []
    for what, given, recorded in (
        ("manufacturer", manufacturer, record.manufacturer),
        ("model", model, record.model_name),
        ("serial number", serial, record.serial_number),
    ):
        value = (given or "").strip()
        if recorded is None or value == recorded:
            continue
        note = " (only in letter case; the tuple is case-sensitive)"
        same_but_case = value.casefold() == recorded.casefold()
        differences.append(
            f"{what} {value!r} differs from the OEM record's {recorded!r}"
            + (note if same_but_case else "")
        )
    return differences


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(oem_devices)).scalar_one())
