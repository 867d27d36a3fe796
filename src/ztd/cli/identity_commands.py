"""`ztd hash decode`, `ztd csv check`, `ztd demo-data`: offline device-identity tools.

They need no server: they run the same checks the server applies, so a partner can fix a file
before uploading it.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ztd.cli.findings import print_warnings
from ztd.cli.output import EXIT_CODES, EXIT_INVALID_INPUT, checking, console, plural
from ztd.identity import records as rt
from ztd.identity.csv_reader import CsvFormatError, CsvResult, check_devices, read_devices
from ztd.identity.findings import Finding
from ztd.identity.hardware_hash import HashDecodeError, iter_records
from ztd.identity.input_file import is_json_input, read_input
from ztd.identity.synthetic import synthesize_device
from ztd.identity.validation import HashCheck, validate_hash

__all__ = ["register"]

# Get-WindowsAutopilotInfo's default header.
DEMO_HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


def register(app: typer.Typer) -> None:
    """Add the identity commands to the `ztd` app."""
    hash_app = typer.Typer(help="Autopilot hardware hashes.", no_args_is_help=True)
    csv_app = typer.Typer(help="Device CSV files.", no_args_is_help=True)
    app.add_typer(hash_app, name="hash")
    app.add_typer(csv_app, name="csv")
    hash_app.command("decode", epilog=EXIT_CODES)(hash_decode)
    csv_app.command("check", epilog=EXIT_CODES)(csv_check)
    app.command("demo-data")(demo_data)


def _read_input(arg: str) -> bytes:
    if arg == "-":
        return sys.stdin.buffer.read()
    path = Path(arg)
    try:
        return path.read_bytes()
    except OSError as exc:
        console(stderr=True).print(f"[red]error:[/] cannot read {escape(arg)}: {exc.strerror}")
        raise typer.Exit(EXIT_INVALID_INPUT) from None


def hash_decode(
    hardware_hash: Annotated[str, typer.Argument(help="The base64 hash, or - to read stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    show_records: Annotated[
        bool, typer.Option("--records", help="Also list every record.")
    ] = False,
) -> None:
    """Decode a hardware hash and show what it says about the machine. Exits 3 if invalid."""
    text = sys.stdin.read() if hardware_hash == "-" else hardware_hash
    check = validate_hash(text)
    if as_json:
        typer.echo(json.dumps(_hash_json(check, text if show_records else None), indent=2))
    else:
        _print_hash(check, text, show_records)
    if check.errors:
        raise typer.Exit(EXIT_INVALID_INPUT)


def _hash_json(check: HashCheck, text: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ok": not check.errors,
        "decoded": None if check.decoded is None else asdict(check.decoded),
        "errors": [asdict(e) for e in check.errors],
        "warnings": [asdict(w) for w in check.warnings],
    }
    if text is not None and check.decoded is not None:
        out["records"] = [
            {"offset": r.offset, "type": r.type, "length": r.length, "payload": r.payload.hex()}
            for r in iter_records(text)
        ]
    return out


def _print_hash(check: HashCheck, text: str, show_records: bool) -> None:
    out = console()
    d = check.decoded
    if d is not None:
        table = Table(title="Hardware hash", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        rows: list[tuple[str, str]] = [
            ("Serial number", d.serial or "-"),
            ("Manufacturer", d.manufacturer or "-"),
            ("Model", d.model or "-"),
            ("SMBIOS UUID", d.smbios_uuid or "-"),
            ("Product key id", d.pkid or "-"),
            ("MAC addresses", ", ".join(d.mac_addresses) or "-"),
            ("Disk serials", ", ".join(d.disk_serials) or "-"),
            ("TPM version", d.tpm_version or ("-" if not d.has_tpm_records else "present")),
            ("Checksum", "ok" if d.checksum_ok else "[red]MISMATCH[/]"),
            ("Size", f"{d.byte_length} bytes, records end at {d.total_len}"),
            ("Unknown record types", ", ".join(map(str, d.unknown_record_types)) or "-"),
        ]
        for name, value in rows:
            table.add_row(name, value if value.startswith("[red]") else escape(value))
        out.print(table)
        if show_records:
            _print_records(out, text)
    for e in check.errors:
        out.print(f"[red]error[/] [bold]{e.code}[/]: {escape(e.message)}")
    for w in check.warnings:
        out.print(f"[yellow]warning[/] [bold]{w.code}[/]: {escape(w.message)}")
    if not check.errors:
        out.print("[green]valid[/]")


def _print_records(out: Console, text: str) -> None:
    try:
        records = iter_records(text)
    except HashDecodeError:  # pragma: no cover - only called for a decodable hash
        return
    table = Table(title="Records")
    for col in ("offset", "type", "name", "length", "payload"):
        table.add_column(col, overflow="fold")
    for r in records:
        if r.type in rt.TEXT_TYPES:
            preview = r.payload.split(b"\0", 1)[0].decode("utf-8", "replace")
        elif r.type == rt.GPU_NAME:
            preview = r.payload.decode("utf-16-le", "replace").split("\0", 1)[0]
        else:
            preview = r.payload[:24].hex(" ") + (" …" if len(r.payload) > 24 else "")
        table.add_row(
            str(r.offset),
            str(r.type),
            rt.NAMES.get(r.type, "unknown"),
            str(r.length),
            escape(preview),
        )
    out.print(table)


def csv_check(
    file: Annotated[
        str, typer.Argument(help="The CSV file (or JSON upload body), or - to read stdin.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a device CSV as the registration service would. Exits 3 if any row has an
    error, as `ztd upload` does for the same file. A JSON file that `ztd upload` takes (an
    array of devices, or a request body as the PowerShell module writes it) is checked the
    same way."""
    data = _read_input(file)
    if is_json_input(Path(file), data):
        _check_json_body(file, data, as_json)
        return
    try:
        with checking(console(stderr=True), file, len(data), quiet=as_json):
            result = read_devices(data, source=file)
    except CsvFormatError as exc:
        if as_json:
            typer.echo(json.dumps({"source": file, "format_error": str(exc)}, indent=2))
        else:
            console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if as_json:
        typer.echo(json.dumps(_csv_json(result), indent=2))
    else:
        _print_csv(result)
    if check_devices(result):
        raise typer.Exit(EXIT_INVALID_INPUT)


def _check_json_body(file: str, data: bytes, as_json: bool) -> None:
    """``csv check`` of a JSON file: exactly what ``ztd upload`` checks before sending it
    (``read_input``), so the two never disagree on a file. Exits 3 on any problem."""
    with checking(console(stderr=True), file, len(data), quiet=as_json):
        loaded = read_input(Path(file), data, skip_invalid=False)
    if as_json:
        doc = {
            "source": file,
            "format": "json",
            "devices": len(loaded.devices),
            "errors": len(loaded.problems),
            "warnings": len(loaded.warnings),
            "problems": loaded.problems,
            "diagnostics": [
                {"device": w.where, "code": w.code, "message": w.message} for w in loaded.warnings
            ],
        }
        typer.echo(json.dumps(doc, indent=2))
    else:
        out = console()
        ready = plural(len(loaded.devices), "device")
        out.print(f"[bold]{escape(file)}[/]: JSON, {ready} without errors", highlight=False)
        for problem in loaded.problems:
            out.print(f"[red]error:[/] {escape(problem)}", highlight=False)
        print_warnings(out, loaded.warnings, loaded.unit)
        out.print(
            f"{plural(len(loaded.problems), 'error')}, {plural(len(loaded.warnings), 'warning')}"
        )
    if loaded.problems:
        raise typer.Exit(EXIT_INVALID_INPUT)


def _csv_json(result: CsvResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "encoding": result.encoding,
        "delimiter": result.delimiter,
        "columns": result.columns,
        "devices": len(result.devices),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "diagnostics": [asdict(d) for d in sorted(result.diagnostics, key=lambda d: d.line)],
        "rows": [
            {
                "line": dev.line,
                "serial_number": dev.identity.serial_number,
                "manufacturer": dev.identity.manufacturer,
                "model": dev.identity.model,
                "product_key": dev.identity.pkid,
                "error": None if dev.identity.error is None else dev.identity.error.name,
            }
            for dev in result.devices
        ],
    }


def _print_csv(result: CsvResult) -> None:
    """The file's shape, each error by line, then each kind of warning once (with its count
    and first lines), then the totals."""
    out = console()
    delimiter = {",": "comma", ";": "semicolon", "\t": "tab"}[result.delimiter]
    out.print(
        f"[bold]{escape(result.source)}[/]: {plural(len(result.devices), 'device')}, "
        f"{result.encoding}, {delimiter}-separated",
        highlight=False,
    )
    if result.errors:
        table = Table(show_lines=False)
        for col in ("line", "column", "code", "error"):
            table.add_column(col, overflow="fold")
        for d in sorted(result.errors, key=lambda d: d.line):
            table.add_row(str(d.line), escape(d.column or ""), escape(d.code), escape(d.message))
        out.print(table)
    print_warnings(out, [Finding(d.line, d.code, d.message) for d in result.warnings])
    n_err, n_warn = len(result.errors), len(result.warnings)
    colour = "red" if n_err else "green"
    out.print(
        f"[{colour}]{plural(n_err, 'error')}[/], {plural(n_warn, 'warning')}", highlight=False
    )


def demo_data(
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE", help="File to write, or - for stdout.")
    ],
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, metavar="N", help="Number of devices.")
    ] = 10,
    seed: Annotated[
        int | None,
        typer.Option("--seed", metavar="N", help="Make the output reproducible."),
    ] = None,
    faults: Annotated[
        bool,
        typer.Option(
            "--faults",
            help="Keep devices that `ztd csv check` warns about (e.g. VMs without a disk serial).",
        ),
    ] = False,
) -> None:
    """Write a Get-WindowsAutopilotInfo CSV of synthetic devices.

    Valid hashes, PKIDs and serials, that `ztd csv check` passes without a warning (unless
    --faults)."""
    base = seed if seed is not None else random.SystemRandom().randrange(2**32)
    rows: list[str] = []
    seen: set[tuple[str, str]] = set()
    i = 0
    while len(rows) < count:
        dev = synthesize_device(base * 1_000_003 + i)
        i += 1
        if (dev.manufacturer, dev.serial) in seen:  # keep the file free of duplicates
            continue
        seen.add((dev.manufacturer, dev.serial))
        row = f"{dev.serial},{dev.pkid or ''},{dev.hardware_hash}"
        if faults or _checks_clean(row):
            rows.append(row)
    # CRLF like PowerShell's Out-File on Windows; UTF-8 without BOM like PowerShell 7.
    content = "\r\n".join([DEMO_HEADER, *rows]) + "\r\n"
    if output == "-":
        sys.stdout.write(content)
        return
    try:
        Path(output).write_text(content, encoding="utf-8", newline="")
    except OSError as exc:
        console(stderr=True).print(f"[red]error:[/] cannot write {escape(output)}: {exc.strerror}")
        raise typer.Exit(1) from None
    console(stderr=True).print(f"wrote {plural(count, 'device')} to {escape(output)}")


def _checks_clean(row: str) -> bool:
    """Whether `ztd csv check` passes this row without an error or a warning: the same
    reader judges it, so a new warning there keeps such devices out of demo data too."""
    result = read_devices(f"{DEMO_HEADER}\r\n{row}\r\n".encode(), source="demo")
    return not result.diagnostics
