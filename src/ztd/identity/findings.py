"""Warnings about a file, grouped: a warning repeated on 5,000 lines is one entry with its
count and first few lines, not 5,000 entries. The CLI prints the groups (``ztd.cli.findings``)
and the console's pre-flight shows them, so both group a file's warnings the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FIRST_LINES = 5  # lines named under each grouped warning


@dataclass(frozen=True)
class Finding:
    where: int  # CSV line, or position of a device in a JSON file
    code: str
    message: str


@dataclass(frozen=True)
class Group:
    code: str
    messages: tuple[str, ...]  # each distinct wording, in the order it first appears
    wheres: tuple[int, ...]  # distinct lines (or devices), ascending

    @property
    def message(self) -> str:
        return self.messages[0]


def grouped(findings: Sequence[Finding]) -> list[Group]:
    """One group per code, in the order each code first appears. A code can carry several
    wordings on one line (a `not-sent` warning per unsent column, all on the header line):
    the lines are counted once each and every wording is kept."""
    by_code: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.where):
        by_code.setdefault(finding.code, []).append(finding)
    return [
        Group(
            code,
            tuple(dict.fromkeys(f.message for f in members)),
            tuple(dict.fromkeys(f.where for f in members)),
        )
        for code, members in by_code.items()
    ]
