"""`ztd admin oem import FILE`: load OEM-supplied hardware hashes into the OEM registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError

from ztd.cli.databases import prepare_database
from ztd.cli.output import console
from ztd.identity.csv_reader import CsvFormatError, read_devices
from ztd.identity.csv_text import load_json_bytes
from ztd.server.clock import utc_now
from ztd.server.services import oem_registry
from ztd.server.settings import Settings
from ztd.wire import Device

Row = tuple[str, dict[str, str | None]]


def register(admin: typer.Typer) -> None:
    """Add `ztd admin oem import` to `ztd admin`."""
    oem = typer.Typer(help="The OEM device registry (hashes OEMs supplied).", no_args_is_help=True)
    oem.command("import")(import_file)
    admin.add_typer(oem, name="oem")


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import OEM device records from a CSV (any Autopilot format) or a JSON array."""
    data = file.read_bytes()
    try:
        rows = _json_rows(data) if file.suffix.lower() == ".json" else _csv_rows(data, file)
    except (CsvFormatError, ValueError) as exc:
        console(stderr=True).print(f"[red]error:[/] {file}: {exc}")
        raise typer.Exit(1) from None
    records, problems = oem_registry.prepare_records(rows)
    for problem in problems:
        console(stderr=True).print(f"[yellow]skipped[/] {file}:{problem.where}: {problem.reason}")
    db = prepare_database(Settings())
    with db.write() as conn:
        added = oem_registry.import_records(conn, records, utc_now())
    typer.echo(f"{added} imported, {len(records) - added} already known, {len(problems)} skipped")
    if problems and not records:
        raise typer.Exit(1)


def _csv_rows(data: bytes, file: Path) -> list[Row]:
    result = read_devices(data, source=str(file))
    return [
        (
            f"line {device.line}",
            {
                "serial_number": device.serial_number,
                "product_key": device.product_key,
                "hardware_hash": device.hardware_hash,
                "manufacturer": device.manufacturer,
                "model": device.model,
            },
        )
        for device in result.devices
    ]


def _json_rows(data: bytes) -> list[Row]:
    try:
        parsed: Any = load_json_bytes(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    # (json_keys.DuplicateKey, a ValueError, says which property is given twice, and where.)
    if isinstance(parsed, dict):
        parsed = {str(k).lower(): v for k, v in parsed.items()}.get("devices", parsed)
    if not isinstance(parsed, list):
        raise ValueError('expected a JSON array of devices (or {"devices": [...]})')
    rows: list[Row] = []
    for index, item in enumerate(parsed):
        try:
            device = Device.model_validate(item)
        except ValidationError as exc:
            raise ValueError(f"record {index}: {exc.errors()[0]['msg']}") from None
        rows.append(
            (
                f"record {index}",
                {
                    "serial_number": device.serial_number,
                    "product_key": device.product_key,
                    "hardware_hash": device.hardware_hash,
                    "manufacturer": device.oem_manufacturer_name,
                    "model": device.model_name,
                },
            )
        )
    return rows
