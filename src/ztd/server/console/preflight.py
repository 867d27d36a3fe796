"""The upload page's pre-flight report: the very checker `ztd csv check` and `ztd upload`
run (``ztd.identity.input_file.read_input``: one reader for CSV and JSON), and the CLI's
grouping of warnings (``ztd.identity.findings``), so the console and the command line never
disagree on a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ztd.identity.findings import FIRST_LINES, Group, grouped
from ztd.identity.input_file import InputFile, read_input


@dataclass(frozen=True)
class ErrorRow:
    line: str  # a CSV line, a JSON device position, or "" for the file as a whole
    column: str
    code: str
    reason: str


@dataclass
class Report:
    loaded: InputFile
    errors: list[ErrorRow] = field(default_factory=list)
    warnings: list[Group] = field(default_factory=list)

    @property
    def sendable(self) -> bool:
        return not self.errors and bool(self.loaded.devices)

    @property
    def unit(self) -> str:
        return self.loaded.unit

    def first_lines(self, group: Group) -> str:
        shown = ", ".join(str(w) for w in group.wheres[:FIRST_LINES])
        more = len(group.wheres) - FIRST_LINES
        return f"{shown} and {more:,} more" if more > 0 else shown


def check(filename: str, data: bytes) -> Report:
    name = Path(filename or "upload.csv").name
    loaded = read_input(Path(name), data, skip_invalid=False)
    report = Report(loaded, warnings=grouped(loaded.warnings))
    if loaded.csv_errors:
        report.errors = [
            ErrorRow(str(d.line), d.column or "", d.code, d.message) for d in loaded.csv_errors
        ]
    else:  # JSON, or a file refused as a whole: the reader's sentences, already precise
        report.errors = [_row(problem, name) for problem in loaded.problems]
    return report


def _row(problem: str, source: str) -> ErrorRow:
    where, _, reason = problem.removeprefix(f"{source}:").strip().partition(": ")
    if where.startswith(("device ", "line ")) and reason:
        return ErrorRow(where.split()[-1], "", "", reason)
    return ErrorRow("", "", "", problem.removeprefix(f"{source}: "))
