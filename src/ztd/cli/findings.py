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
    message: str  # the first occurrence's wording
    wheres: tuple[int, ...]


def grouped(findings: Sequence[Finding]) -> list[Group]:
    """One group per code, in the order each code first appears."""
    by_code: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.where):
        by_code.setdefault(finding.code, []).append(finding)
    return [
        Group(code, members[0].message, tuple(f.where for f in members))
        for code, members in by_code.items()
    ]


def print_warnings(console: Console, findings: Sequence[Finding], unit: str = "line") -> None:
    """Each warning once, with how many ``unit``s have it and the first few of them."""
    for group in grouped(findings):
        first = ", ".join(str(w) for w in group.wheres[:FIRST_LINES])
        more = (
            f" and {len(group.wheres) - FIRST_LINES:,} more"
            if len(group.wheres) > FIRST_LINES
            else ""
        )
        where = f"{unit} {first}" if len(group.wheres) == 1 else f"{unit}s {first}{more}"
        count = f" ({plural(len(group.wheres), unit)})" if len(group.wheres) > 1 else ""
        console.print(
            f"[yellow]warning[/] [bold]{escape(group.code)}[/]{count}, {where}: "
            f"{escape(group.message)}",
            highlight=False,
        )
