"""Read a device CSV (Intune / Get-WindowsAutopilotInfo, Partner Center, vendor variants) and
check every row the way the registration service will.

Line numbers are 1-based *physical* lines, header = line 1, matching what Intune shows; a row
whose quoted field contains line breaks is reported at the line where it starts.

Only ``CsvFormatError`` is raised, and only when the file as a whole cannot be read (no
recognizable header, bytes that contradict their own byte-order mark, an oversized field).
Everything wrong with individual rows becomes a diagnostic instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

from ztd.identity.csv_columns import OFFICIAL_HEADERS, ColumnMap, Field, map_columns
from ztd.identity.csv_text import TextDecodeProblem, decode_csv_bytes
from ztd.identity.device import DeviceIdentity, FirstCopies, analyze_device

__all__ = [
    "INTUNE_ROW_LIMIT",
    "CsvDevice",
    "CsvDiagnostic",
    "CsvFormatError",
    "CsvResult",
    "check_devices",
    "read_devices",
]

# Intune refuses files with more than 500 devices (device-identity.md section 2.1).
INTUNE_ROW_LIMIT: Final = 500
_DELIMITERS: Final = (",", ";", "\t")
_DELIMITER_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab"}
_IDENTIFIER_FIELDS: Final[tuple[Field, ...]] = ("serial_number", "product_key", "hardware_hash")

Severity = Literal["error", "warning"]


class CsvFormatError(ValueError):
    """The file cannot be read as a device CSV at all (the message says why and where)."""


@dataclass(frozen=True, slots=True)
class CsvDiagnostic:
    line: int  # 1-based physical line; the header is line 1 unless blank lines precede it
    severity: Severity
    column: str | None  # header cell as written in the file, when one column is at fault
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CsvDevice:
    """One data row; ``identity`` is analyze_device's verdict on it."""

    line: int
    serial_number: str | None
    product_key: str | None
    hardware_hash: str | None
    manufacturer: str | None
    model: str | None
    group_tag: str | None
    assigned_user: str | None
    identity: DeviceIdentity


@dataclass(slots=True)
class CsvResult:
    source: str
    encoding: str
    delimiter: str
    header_line: int
    columns: dict[Field, str]  # recognized field -> header cell as written
    devices: list[CsvDevice] = field(default_factory=list)
    diagnostics: list[CsvDiagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[CsvDiagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[CsvDiagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def check_devices(result: CsvResult) -> bool:
    """True when any row has an error (the file would not register cleanly)."""
    return any(d.severity == "error" for d in result.diagnostics)


# Which column a finding from analyze_device is about.
_CODE_FIELD: Final[dict[str, Field]] = {
    "serial-mismatch": "serial_number",
    "placeholder-serial": "hardware_hash",
    "manufacturer-mismatch": "manufacturer",
    "model-mismatch": "model",
    "license-key": "product_key",
    "pid-not-pkid": "product_key",
    "pkid-reformatted": "product_key",
    "unusual-product-key": "product_key",
    "pkid-mismatch": "product_key",
}


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    """(first physical line, last physical line, cells) for each row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"line {last + 1}: {exc}") from None
        yield last + 1, reader.line_num, row
        last = reader.line_num


def _first_line(text: str) -> tuple[int, str, int]:
    """(line number, content, character offset) of the first non-blank physical line;
    line number 0 when there is none."""
    offset = 0
    for n, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.strip():
            return n, line.rstrip("\r\n"), offset
        offset += len(line)
    return 0, "", 0


def _pick_delimiter(header: str) -> tuple[str, ColumnMap]:
    """The delimiter under which the header yields the most recognized columns."""
    best: tuple[int, str, ColumnMap] | None = None
    for d in _DELIMITERS:
        cells = next(csv.reader([header], delimiter=d), [])
        cols = map_columns(cells)
        if best is None or len(cols.index) > best[0]:
            best = (len(cols.index), d, cols)
    assert best is not None
    return best[1], best[2]


def read_devices(data: bytes, *, source: str = "<input>") -> CsvResult:
    """Parse and check a device CSV. Raises only CsvFormatError (see the module docstring)."""
    try:
        decoded = decode_csv_bytes(data)
    except TextDecodeProblem as exc:
        raise CsvFormatError(f"{source}: {exc}") from None
    text = decoded.text

    header_line, header_text, offset = _first_line(text)
    if header_line == 0:
        raise CsvFormatError(f"{source}: the file is empty")
    sep_hint: str | None = None
    if len(header_text) == 5 and header_text.lower().startswith("sep="):
        # Excel's "sep=;" line announces the delimiter. Blank it out (keeping its line break,
        # so physical line numbers stay right) and look for the header after it.
        sep_hint = header_text[4]
        text = text[:offset] + text[offset + 5 :]
        header_line, header_text, offset = _first_line(text)
        if header_line == 0:
            raise CsvFormatError(f"{source}: nothing follows the 'sep=' line")
    delimiter, columns = _pick_delimiter(header_text)
    if sep_hint is not None and sep_hint in _DELIMITERS:
        delimiter = sep_hint
        columns = map_columns(next(csv.reader([header_text], delimiter=delimiter), []))
    if not any(f in columns.index for f in _IDENTIFIER_FIELDS):
        raise CsvFormatError(
            f"{source}: no recognizable header on line {header_line} "
            f"(found {header_text[:120]!r}); expected a header such as "
            "'Device Serial Number,Windows Product ID,Hardware Hash'"
        )

    result = CsvResult(
        source=source,
        encoding=decoded.encoding,
        delimiter=delimiter,
        header_line=header_line,
        columns={f: columns.headers[i] for f, i in columns.index.items()},
    )
    _header_diagnostics(result, columns, decoded.note)
    _read_rows(result, text, columns)
    return result


def _header_diagnostics(result: CsvResult, columns: ColumnMap, note: str | None) -> None:
    line = result.header_line
    warn = result.diagnostics.append
    if note is not None:
        warn(CsvDiagnostic(line, "warning", None, "encoding", note))
    if result.delimiter != ",":
        name = _DELIMITER_NAMES[result.delimiter]
        warn(
            CsvDiagnostic(
                line,
                "warning",
                None,
                "delimiter",
                f"columns are separated by {name}s; Intune and Partner Center expect commas",
            )
        )
    for i in columns.unknown:
        warn(
            CsvDiagnostic(
                line,
                "warning",
                columns.headers[i],
                "unknown-column",
                f"column {columns.headers[i]!r} is not a device field and is ignored "
                "(Intune rejects files with extra columns)",
            )
        )
    for i, f in columns.duplicates:
        warn(
            CsvDiagnostic(
                line,
                "warning",
                columns.headers[i],
                "duplicate-column",
                f"column {columns.headers[i]!r} repeats {columns.header_of(f)!r}; "
                "only the first is read",
            )
        )
    for f, i in columns.index.items():
        h = columns.headers[i]
        if h not in OFFICIAL_HEADERS:
            warn(
                CsvDiagnostic(
                    line,
                    "warning",
                    h,
                    "nonstandard-header",
                    f"header {h!r} was read as {f.replace('_', ' ')}; Intune matches headers "
                    "exactly (e.g. 'Device Serial Number', 'Windows Product ID', "
                    "'Hardware Hash')",
                )
            )


def _cell(cells: list[str], columns: ColumnMap, f: Field) -> str | None:
    i = columns.index.get(f)
    if i is None or i >= len(cells):
        return None
    v = cells[i].strip()
    return v or None


def _read_rows(result: CsvResult, text: str, columns: ColumnMap) -> None:
    diags = result.diagnostics
    col = result.columns.get
    # Physical lines, only needed to spot the first quoted row.
    quoted_lines = io.StringIO(text, newline="").readlines() if '"' in text else None
    copies: FirstCopies[int] = FirstCopies()
    ncols = len(columns.headers)
    for start, end, cells in _rows(text, result.delimiter):
        if start <= result.header_line:
            continue
        if not any(c.strip() for c in cells):
            continue  # blank line, or a row of bare delimiters as Excel leaves them
        if quoted_lines is not None and any('"' in ln for ln in quoted_lines[start - 1 : end]):
            quoted_lines = None  # warn once per file
            diags.append(
                CsvDiagnostic(
                    start,
                    "warning",
                    None,
                    "quoted-field",
                    "the file uses quotation marks; Intune rejects quoted fields",
                )
            )
        if end > start:
            diags.append(
                CsvDiagnostic(
                    start,
                    "warning",
                    None,
                    "multiline-row",
                    f"this row spans lines {start}-{end} (a quoted field contains a line break)",
                )
            )
        if len(cells) > ncols and any(c.strip() for c in cells[ncols:]):
            diags.append(
                CsvDiagnostic(
                    start,
                    "warning",
                    None,
                    "extra-fields",
                    f"the row has {len(cells)} fields but the header has {ncols}; the extra "
                    "ones are ignored (values must not contain the delimiter)",
                )
            )
        values = {f: _cell(cells, columns, f) for f in columns.index}
        identity = analyze_device(
            serial_number=values.get("serial_number"),
            product_key=values.get("product_key"),
            hardware_hash=values.get("hardware_hash"),
            manufacturer=values.get("manufacturer"),
            model=values.get("model"),
        )
        device = CsvDevice(
            line=start,
            serial_number=values.get("serial_number"),
            product_key=values.get("product_key"),
            hardware_hash=values.get("hardware_hash"),
            manufacturer=values.get("manufacturer"),
            model=values.get("model"),
            group_tag=values.get("group_tag"),
            assigned_user=values.get("assigned_user"),
            identity=identity,
        )
        result.devices.append(device)
        if len(result.devices) == INTUNE_ROW_LIMIT + 1:
            diags.append(
                CsvDiagnostic(
                    start,
                    "warning",
                    None,
                    "row-limit",
                    f"more than {INTUNE_ROW_LIMIT} devices; Intune refuses such files "
                    "(split it; Partner Center uploads are not affected)",
                )
            )
        if identity.error is not None:
            column = col("hardware_hash") if identity.error.code == "802" else None
            diags.append(
                CsvDiagnostic(
                    start,
                    "error",
                    column,
                    identity.error.name,
                    f"{identity.error.code} {identity.error.name}: {identity.detail}",
                )
            )
        for w in identity.warnings:
            f = _CODE_FIELD.get(w.code, "hardware_hash" if device.hardware_hash else None)
            diags.append(CsvDiagnostic(start, "warning", col(f) if f else None, w.code, w.message))
        _check_duplicate(result, device, copies)


def _check_duplicate(result: CsvResult, device: CsvDevice, copies: FirstCopies[int]) -> None:
    """Intune processes the first copy of a device and fails the others (ZtdDeviceDuplicated)."""
    ident = device.identity
    earlier = None if ident.error is not None else copies.earlier(ident, device.line)
    if earlier is None:
        return
    shared, first = earlier
    if shared == "hardware_key":
        column = None
        message = (
            f"same device as line {first} (manufacturer {ident.manufacturer!r}, "
            f"serial {ident.serial_number!r}); only the first copy would be registered"
        )
    else:
        column = result.columns.get("product_key")
        message = (
            f"product key {ident.pkid!r} already appears on line {first}; "
            "a product key identifies exactly one device"
        )
    result.diagnostics.append(
        CsvDiagnostic(device.line, "error", column, "ZtdDeviceDuplicated", message)
    )
