"""Where a device CSV's header is, and what shape its rows have.

Besides the plain files that Get-WindowsAutopilotInfo, Intune and Partner Center write, users
hand in files that other tools made:

- report exports (ConfigMgr/SSRS "Windows Autopilot Device Information"): title lines, then a
  header of ``Textbox1..n`` names, and each row repeating the column *labels* next to the
  values, e.g. ``Device Serial Number,Windows Product ID,Hardware Hash,CND58,,T0Ge...``;
- files with no header at all (the first line is already a device);
- files with title or note lines above the header.

A line holding a value that no header has (a hardware hash, a 13-digit PKID) is never taken
as the header. Only CsvFormatError is raised, for a whole-file problem, with what to do.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Final

from ztd.identity.csv_columns import ColumnMap, Field, field_of, map_columns

__all__ = ["HEADER_SCAN_LINES", "CsvFormatError", "FileShape", "LabelLayout", "find_header"]

# How many non-blank lines may precede the header (report titles, notes).
HEADER_SCAN_LINES: Final = 20
_DELIMITERS: Final = (",", ";", "\t")
IDENTIFIER_FIELDS: Final[tuple[Field, ...]] = ("serial_number", "product_key", "hardware_hash")
INTUNE_HEADER: Final = ("Device Serial Number", "Windows Product ID", "Hardware Hash")
_HASH_LIKE: Final = re.compile(r"[A-Za-z0-9+/=]{64,}")
_PKID_LIKE: Final = re.compile(r"\d{13}")


class CsvFormatError(ValueError):
    """The file cannot be read as a device CSV at all (the message says why and where)."""


def is_value(cell: str) -> bool:
    """A cell that only a data row holds: a hardware hash or a 13-digit product key id."""
    s = cell.strip()
    return bool(_HASH_LIKE.fullmatch(s) or _PKID_LIKE.fullmatch(s))


@dataclass(frozen=True, slots=True)
class LabelLayout:
    """Rows that repeat the column labels next to their values (a report export)."""

    label_columns: tuple[int, ...]  # where the labels are, 0-based
    labels: tuple[str, ...]  # the label texts, in label_columns order
    value_of: dict[Field, int]  # where each labelled field's value is, 0-based

    def explain(self) -> str:
        labels = ", ".join(repr(label) for label in self.labels)
        values = _columns(sorted(self.value_of.values()))
        return (
            "this file is a report export (for example a ConfigMgr report saved as CSV): "
            f"every row repeats the labels {labels} in {_columns(self.label_columns)} and "
            f"holds the values in {values}, so the values were read from {values}. Intune "
            "and Partner Center do not accept this layout: export the report's data only, or "
            "write the file with Get-WindowsAutopilotInfo"
        )

    def row_matches(self, cells: list[str]) -> bool:
        """The row repeats the same labels in the same columns."""
        return all(
            i < len(cells) and cells[i].strip() == label
            for i, label in zip(self.label_columns, self.labels, strict=True)
        )


def _columns(indexes: tuple[int, ...] | list[int]) -> str:
    """'column 4' or 'columns 4-6' (1-based) or 'columns 2, 4, 6'."""
    one_based = [i + 1 for i in indexes]
    if len(one_based) == 1:
        return f"column {one_based[0]}"
    if one_based == list(range(one_based[0], one_based[-1] + 1)):
        return f"columns {one_based[0]}-{one_based[-1]}"
    return "columns " + ", ".join(map(str, one_based))


def label_layout(cells: list[str]) -> LabelLayout | None:
    """The layout of a row holding labels and values, or None when it is not one.

    Labels come either as a block followed by a block of values (``L1,L2,L3,V1,V2,V3``) or
    in label/value pairs (``L1,V1,L2,V2``)."""
    at: dict[Field, int] = {}
    for i, cell in enumerate(cells):
        f = field_of(cell) if cell.strip() and not is_value(cell) else None
        if f is not None and f not in at:
            at[f] = i
    if not any(f in at for f in IDENTIFIER_FIELDS):
        return None
    positions = sorted(at.values())
    k = len(positions)
    value_of: dict[Field, int] | None = None
    block = positions == list(range(positions[0], positions[0] + k))
    if block and len(cells) >= positions[-1] + 1 + k:
        value_of = {f: i + k for f, i in at.items()}
    elif all(i + 1 not in positions and i + 1 < len(cells) for i in positions):
        value_of = {f: i + 1 for f, i in at.items()}
    if value_of is None or not any(is_value(cells[i]) for i in value_of.values()):
        return None
    if any(field_of(cells[i]) is not None and cells[i].strip() for i in value_of.values()):
        return None  # a "value" that is itself a label: not this layout
    return LabelLayout(tuple(positions), tuple(cells[i].strip() for i in positions), value_of)


@dataclass(frozen=True, slots=True)
class FileShape:
    delimiter: str
    header_line: int  # 0 when the file has no header line (a report without one)
    columns: ColumnMap  # for a label layout: the labels, at their values' columns
    first_data_line: int
    title_lines: tuple[int, ...] = ()  # lines before the header that were skipped
    labels: LabelLayout | None = None


def _nonblank(text: str) -> Iterator[tuple[int, str]]:
    for n, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.strip():
            yield n, line.rstrip("\r\n")


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]  # e.g. an oversized field: the row reader reports it with its line


def _best_delimiter(line: str) -> str:
    """The delimiter under which the line has the most recognized header or label cells,
    then the most cells."""

    def score(d: str) -> tuple[int, int]:
        cells = _split(line, d)
        return len(map_columns(cells).index), len(cells)

    return max(_DELIMITERS, key=score)


def _labelled_columns(layout: LabelLayout, header: list[str], width: int) -> ColumnMap:
    """A ColumnMap whose fields sit at the value columns and are named by their labels."""
    names = [header[i].strip() if i < len(header) else "" for i in range(width)]
    for label in layout.labels:
        f = field_of(label)
        if f is not None and f in layout.value_of:
            names[layout.value_of[f]] = label
    return ColumnMap(dict(layout.value_of), tuple(names), (), ())


def suggest_header(cells: list[str]) -> str:
    """The header line to add above a headerless file, from what its first row holds."""
    hashes = [i for i, c in enumerate(cells) if _HASH_LIKE.fullmatch(c.strip())]
    pkids = [i for i, c in enumerate(cells) if _PKID_LIKE.fullmatch(c.strip())]
    n = len(cells)
    while n > 3 and not cells[n - 1].strip():
        n -= 1  # trailing empty fields
    standard = set(hashes) <= {2} and set(pkids) <= {1}
    if standard and n <= 3:
        return ",".join(INTUNE_HEADER)
    if standard and n == 4:
        return ",".join((*INTUNE_HEADER, "Group Tag"))
    if standard and n == 5:
        return ",".join((*INTUNE_HEADER, "Manufacturer name", "Device model"))
    names = []
    for i in range(n):
        if i in hashes:
            names.append("Hardware Hash")
        elif i in pkids:
            names.append("Windows Product ID")
        elif "Device Serial Number" not in names:
            names.append("Device Serial Number")
        else:
            names.append("?")
    return ",".join(names)


def find_header(text: str, delimiter: str | None, source: str) -> FileShape:
    """Locate the header (or the label layout) in the first HEADER_SCAN_LINES non-blank lines.
    ``delimiter`` is forced when given (Excel's ``sep=`` line)."""
    skipped: list[int] = []
    before: tuple[int, str] | None = None  # the previous non-blank line
    lines = list(islice(_nonblank(text), HEADER_SCAN_LINES + 1))
    for pos, (n, line) in enumerate(lines[:HEADER_SCAN_LINES]):
        d = delimiter or _best_delimiter(line)
        cells = _split(line, d)
        if any(is_value(c) for c in cells):
            layout = label_layout(cells)
            if layout is None:
                raise CsvFormatError(_missing_header(source, n, cells, skipped))
            # A report's "Textbox1,Textbox2,..." header line, when one precedes the rows.
            header_cells = [] if before is None else _split(before[1], d)
            header = before if len(header_cells) > 1 else None
            titles = tuple(skipped[:-1] if header is not None else skipped)
            header_cells = header_cells if header is not None else []
            return FileShape(
                d,
                header[0] if header is not None else 0,
                _labelled_columns(layout, header_cells, max(len(cells), len(header_cells))),
                n,
                titles,
                layout,
            )
        columns = map_columns(cells)
        if any(f in columns.index for f in IDENTIFIER_FIELDS):
            shape = FileShape(d, n, columns, n + 1, tuple(skipped))
            if pos + 1 < len(lines):  # the rows under a header may still carry labels
                following = _split(lines[pos + 1][1], d)
                layout = label_layout(following)
                if layout is not None:
                    width = max(len(following), len(cells))
                    shape = FileShape(
                        d, n, _labelled_columns(layout, cells, width), n + 1, tuple(skipped), layout
                    )
            return shape
        skipped.append(n)
        before = (n, line)
    if not lines:
        raise CsvFormatError(f"{source}: the file is empty")
    n, line = lines[0]
    raise CsvFormatError(
        f"{source}: no recognizable header on line {n} (found {line[:120]!r}); expected a "
        f"header such as {','.join(INTUNE_HEADER)!r}"
    )


def _missing_header(source: str, n: int, cells: list[str], skipped: list[int]) -> str:
    hashed = any(_HASH_LIKE.fullmatch(c.strip()) for c in cells)
    held = "a hardware hash" if hashed else "a product key id"
    where = f"line {n}" if not skipped else f"line {n}, the first line with data,"
    place = "at the top of the file" if not skipped else f"above line {n}"
    return (
        f"{source}: the header line is missing: {where} already holds a device "
        f"({held}), so the columns have no names. Add this line {place}: "
        f"{suggest_header(cells)}"
    )
