"""Read a device CSV (Intune / Get-WindowsAutopilotInfo, Partner Center, vendor variants) and
check every row the way the registration service will.

Line numbers are 1-based *physical* lines, header = line 1, matching what Intune shows; a row
whose quoted field contains line breaks is reported at the line where it starts.

Only ``CsvFormatError`` is raised, and only when the file as a whole cannot be read: no
recognizable header or none at all (csv_shape), an encoding that changes part-way or bytes
that contradict their byte-order mark (csv_text), an oversized field. Everything wrong with
individual rows becomes a diagnostic instead, as does what cannot be sent (Group Tag and
Assigned User values: a Partner Center device has neither).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple

from ztd.identity.csv_columns import OFFICIAL_HEADERS, ColumnMap, Field
from ztd.identity.csv_shape import CsvFormatError, FileShape, find_header, is_value
from ztd.identity.csv_structure import StructureFault, row_fault
from ztd.identity.csv_text import TextDecodeProblem, TextNote, decode_csv_bytes
from ztd.identity.device import DeviceIdentity, FirstCopies, analyze_device
from ztd.identity.hash_text import canonical_text

__all__ = [
    "INTUNE_ROW_LIMIT",
    "CsvDevice",
    "CsvDiagnostic",
    "CsvFormatError",
    "CsvResult",
    "check_devices",
    "read_devices",
]

# Intune refuses files with more than 500 devices.
INTUNE_ROW_LIMIT: Final = 500
_DELIMITERS: Final = (",", ";", "\t")
_DELIMITER_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab"}

Severity = Literal["error", "warning"]


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
    "product-key-not-pkid": "product_key",
    "pkid-mismatch": "product_key",
}


class _Row(NamedTuple):
    start: int  # first physical line
    end: int  # last physical line
    cells: list[str]
    error: str | None = None  # the csv module gave up here (e.g. an oversized field)


def _rows(text: str, delimiter: str) -> Iterator[_Row]:
    """Each row; the last one has ``error`` when the csv module could not read on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Row(last + 1, last + 1, [], str(exc))
            return
        yield _Row(last + 1, reader.line_num, row)
        last = reader.line_num


def _nonblank_lines(text: str) -> Iterator[tuple[int, str, int]]:
    """(line number, content, character offset) of each non-blank physical line."""
    offset = 0
    for n, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.strip():
            yield n, line.rstrip("\r\n"), offset
        offset += len(line)


def read_devices(data: bytes, *, source: str = "<input>") -> CsvResult:
    """Parse and check a device CSV. Raises only CsvFormatError (see the module docstring)."""
    try:
        decoded = decode_csv_bytes(data)
    except TextDecodeProblem as exc:
        raise CsvFormatError(f"{source}: {exc}") from None
    text = decoded.text
    first = next(_nonblank_lines(text), None)
    if first is None:
        raise CsvFormatError(f"{source}: the file is empty")
    sep_hint: str | None = None
    if len(first[1]) == 5 and first[1].lower().startswith("sep="):
        # Excel's "sep=;" line announces the delimiter. Blank it out (keeping its line break,
        # so physical line numbers stay right) and look for the header after it.
        sep_hint = first[1][4]
        text = text[: first[2]] + text[first[2] + 5 :]
        if next(_nonblank_lines(text), None) is None:
            raise CsvFormatError(f"{source}: nothing follows the 'sep=' line")
    shape = find_header(text, sep_hint if sep_hint in _DELIMITERS else None, source)
    result = CsvResult(
        source=source,
        encoding=decoded.encoding,
        delimiter=shape.delimiter,
        header_line=shape.header_line,
        columns={f: shape.columns.headers[i] for f, i in shape.columns.index.items()},
    )
    _header_diagnostics(result, shape, decoded.notes)
    _read_rows(result, text, shape)
    _unsent_columns(result, shape)
    return result


def _header_diagnostics(result: CsvResult, shape: FileShape, notes: tuple[TextNote, ...]) -> None:
    line = result.header_line or shape.first_data_line
    columns = shape.columns
    warn = result.diagnostics.append
    for note in notes:
        warn(CsvDiagnostic(note.line or line, "warning", None, note.code, note.message))
    if shape.title_lines:
        lines = shape.title_lines
        span = f"line {lines[0]} was" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]} were"
        warn(
            CsvDiagnostic(
                lines[0],
                "warning",
                None,
                "title-lines",
                f"{span} skipped: the header comes after (a report title?); Intune and Partner "
                "Center expect the header on line 1",
            )
        )
    if shape.labels is not None:
        warn(
            CsvDiagnostic(
                shape.first_data_line, "warning", None, "report-layout", shape.labels.explain()
            )
        )
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
    label_columns = set() if shape.labels is None else set(shape.labels.label_columns)
    for i in columns.unknown:
        if i in label_columns:
            continue  # explained by the report-layout warning
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
    for i, f in columns.outranked:
        warn(
            CsvDiagnostic(
                line,
                "warning",
                columns.headers[i],
                "outranked-column",
                f"column {columns.headers[i]!r} is not read: {columns.header_of(f)!r} holds "
                f"the {f.replace('_', ' ')} (in device inventory exports "
                f"{columns.headers[i]!r} is the computer's host name, not its model)",
            )
        )
    for f in columns.loose:
        h = columns.header_of(f)
        warn(
            CsvDiagnostic(
                line,
                "warning",
                h,
                "loose-header",
                f"column {h!r} was read as the device model (Partner Center's CSV "
                "specification names it so); if it holds computer host names, as inventory "
                "exports do, rename it or remove it, and give the model the firmware reports "
                "in a 'Device model' column",
            )
        )
    if shape.labels is not None:
        return  # the header's spelling does not matter: the values come from the labels
    for f, i in columns.index.items():
        h = columns.headers[i]
        if h not in OFFICIAL_HEADERS and f not in columns.loose:
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


# What Partner Center's device upload cannot carry, and where the value is set instead.
_UNSENT: Final[dict[Field, str]] = {
    "group_tag": (
        "set group tags in Intune (Devices > Windows > Enrollment > Devices, or import "
        "this file there)"
    ),
    "assigned_user": (
        "assign users in Intune (Devices > Windows > Enrollment > Devices > Assign user, "
        "or import this file there)"
    ),
}


def _unsent_columns(result: CsvResult, shape: FileShape) -> None:
    """A Partner Center device has no group tag or assigned user: say that the values of
    such columns are not sent, instead of dropping them without a word."""
    for f, where in _UNSENT.items():
        header = result.columns.get(f)
        if header is None:
            continue
        rows = [d.line for d in result.devices if getattr(d, f) is not None]
        if not rows:
            continue
        rows_have = "1 row has" if len(rows) == 1 else f"{len(rows):,} rows have"
        result.diagnostics.append(
            CsvDiagnostic(
                result.header_line or shape.first_data_line,
                "warning",
                header,
                "not-sent",
                f"{rows_have} a value in column {header!r} (first: line {rows[0]}); Partner "
                f"Center's device upload has no such field, so `ztd upload` does not send "
                f"these values: {where}",
            )
        )


def _cell(cells: list[str], columns: ColumnMap, f: Field) -> str | None:
    i = columns.index.get(f)
    if i is None or i >= len(cells):
        return None
    v = cells[i].strip()
    return v or None


def _read_rows(result: CsvResult, text: str, shape: FileShape) -> None:
    diags = result.diagnostics
    columns = shape.columns
    col = result.columns.get
    # Physical lines, only needed for rows with quotation marks (checked, warned about once).
    physical = io.StringIO(text, newline="").readlines() if '"' in text else None
    quote_warned = False
    copies: FirstCopies[int] = FirstCopies()
    ncols = len(columns.headers)
    broken: CsvDevice | None = None  # the last row, when its hash failed: may continue below
    for start, end, cells, error in _rows(text, result.delimiter):
        if error is not None:  # the rest of the file cannot be read as rows
            raw = "".join(physical[start - 1 :]) if physical is not None else ""
            fault = row_fault(raw, start, result.delimiter) if '"' in raw else None
            if fault is None:
                raise CsvFormatError(f"{result.source}: line {start}: {error}")
            _structure_error(result, columns, fault)
            return
        if start < shape.first_data_line:
            continue
        if not any(c.strip() for c in cells):
            continue  # blank line, or a row of bare delimiters as Excel leaves them
        raw = "".join(physical[start - 1 : end]) if physical is not None else ""
        if '"' in raw:
            fault = row_fault(raw, start, result.delimiter)
            if fault is not None:  # one precise finding; the values read are not trusted
                _structure_error(result, columns, fault)
                broken = None
                continue
        if broken is not None and _continues_hash(result, broken, start, cells):
            broken = None
            continue
        if not quote_warned and '"' in raw:
            quote_warned = True  # warn once per file
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
        if shape.labels is not None and not shape.labels.row_matches(cells):
            labels = ", ".join(repr(label) for label in shape.labels.labels)
            diags.append(
                CsvDiagnostic(
                    start,
                    "error",
                    None,
                    "report-layout-row",
                    f"this row does not repeat the labels {labels} that the file's other rows "
                    "carry, so which value is which is unknown; fix or remove the row",
                )
            )
            continue
        if len(cells) > ncols and any(c.strip() for c in cells[ncols:]):
            name = _DELIMITER_NAMES[result.delimiter]
            diags.append(
                CsvDiagnostic(
                    start,
                    "error",
                    None,
                    "too-many-fields",
                    f"the row has {len(cells)} fields but the header has {ncols}: a value "
                    f"contains a {name} (e.g. a manufacturer 'VMware, Inc.' whose quotes were "
                    f"stripped); quote values that contain {name}s, or remove the {name}s",
                )
            )
            continue
        values = {f: _cell(cells, columns, f) for f in columns.index}
        hash_cell = values.get("hardware_hash")
        if hash_cell is not None and (canonical := canonical_text(hash_cell)) != hash_cell:
            # The identity core's rule (hash_text.canonical_text), as the server applies it:
            # what the check passes is what the server accepts and stores.
            values["hardware_hash"] = canonical
            diags.append(
                CsvDiagnostic(
                    start,
                    "warning",
                    col("hardware_hash"),
                    "hash-whitespace",
                    "the hardware hash contains spaces or line breaks; they were removed "
                    "(base64 ignores them), but put the hash on one line without spaces: "
                    "Intune's import may not accept it as it is",
                )
            )
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
        broken = None
        short = _short_row_error(result, columns, start, cells, identity)
        if short is not None:
            diags.append(short)
        elif identity.error is not None:
            column = col("hardware_hash") if identity.error.code == "802" else None
            if identity.error.code == "802":
                broken = device
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


def _structure_error(result: CsvResult, columns: ColumnMap, fault: StructureFault) -> None:
    header = columns.headers[fault.field] if fault.field < len(columns.headers) else None
    result.diagnostics.append(
        CsvDiagnostic(fault.line, "error", header or None, fault.code, fault.message)
    )


# The fields a device is identified by: a row that ends before one of them may be an 803
# only because a delimiter is missing.
_IDENTITY_FIELDS: Final[frozenset[Field]] = frozenset(
    ("serial_number", "product_key", "hardware_hash", "manufacturer", "model")
)


def _short_row_error(
    result: CsvResult, columns: ColumnMap, line: int, cells: list[str], identity: DeviceIdentity
) -> CsvDiagnostic | None:
    """For an 803 row that has fewer fields than the header, and so lacks an identifier
    column altogether: the field count is the fault to name, not a device code. Short rows
    are otherwise fine (Partner Center's files leave trailing optional columns out)."""
    if identity.error is None or identity.error.code != "803" or len(cells) >= len(columns.headers):
        return None
    missing = sorted(
        i for f, i in columns.index.items() if f in _IDENTITY_FIELDS and i >= len(cells)
    )
    if not missing:
        return None
    name = _DELIMITER_NAMES[result.delimiter]
    headers = ", ".join(repr(columns.headers[i]) for i in missing)
    return CsvDiagnostic(
        line,
        "error",
        columns.headers[missing[0]],
        "too-few-fields",
        f"the row has {len(cells)} field(s) but the header has {len(columns.headers)}: it ends "
        f"before {headers}, so the device has no usable identifier (803 "
        f"{identity.error.name}). A {name} between values is missing, or the row was cut "
        f"off: give each column its value (leave an empty one between two {name}s)",
    )


def _continues_hash(result: CsvResult, broken: CsvDevice, line: int, cells: list[str]) -> bool:
    """A row that is the rest of the previous row's hash, cut by an unquoted line break:
    name both lines in one error instead of a truncated hash and a phantom device."""
    head = cells[0].strip()
    if not head or not _BASE64_PIECE.fullmatch(head) or any(is_value(c) for c in cells[1:]):
        return False
    joined = (broken.hardware_hash or "") + head
    whole = analyze_device(
        serial_number=None,
        product_key=None,
        hardware_hash=joined,
        manufacturer=None,
        model=None,
        with_warnings=False,
    )
    if whole.error is not None and not (head.endswith("=") and len(head) >= 8):
        return False  # not provably the same hash: leave both rows to their own errors
    result.diagnostics[:] = [
        d for d in result.diagnostics if not (d.line == broken.line and d.severity == "error")
    ]
    verdict = "joined, the hash is valid" if whole.error is None else "the hash is still invalid"
    result.diagnostics.append(
        CsvDiagnostic(
            broken.line,
            "error",
            result.columns.get("hardware_hash"),
            "hash-line-break",
            f"the hardware hash is broken across lines {broken.line}-{line} by a line break "
            f"({verdict}); put the whole hash on line {broken.line}",
        )
    )
    return True


_BASE64_PIECE: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")


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
