"""Warnings about a file, grouped: a warning repeated on 5,000 lines is one entry with its
count and first few lines, not 5,000 lines of output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from ztd.cli.output import plural

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


def print_warnings(console: Console, findings: Sequence[Finding], unit: str = "line") -> None:
    """Each warning once, with how many ``unit``s have it and the first few of them. When
    the same code is worded differently on one line (several columns of one header), each
    wording is shown: they say different things. Wordings that merely repeat a per-line
    value are many; only the first is shown then."""
    for group in grouped(findings):
        first = ", ".join(str(w) for w in group.wheres[:FIRST_LINES])
        more = (
            f" and {len(group.wheres) - FIRST_LINES:,} more"
            if len(group.wheres) > FIRST_LINES
            else ""
        )
        where = f"{unit} {first}" if len(group.wheres) == 1 else f"{unit}s {first}{more}"
        count = f" ({plural(len(group.wheres), unit)})" if len(group.wheres) > 1 else ""
        # More wordings than lines: several things said of one line, each worth reading.
        many = len(group.messages) > len(group.wheres)
        texts = list(group.messages) if many else [group.message]
        console.print(
            f"[yellow]warning[/] [bold]{escape(group.code)}[/]{count}, {where}: {escape(texts[0])}",
            highlight=False,
        )
        for text in texts[1:]:
            console.print(f"        {escape(text)}", highlight=False)
