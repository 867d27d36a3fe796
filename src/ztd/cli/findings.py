"""Warnings about a file, printed grouped: a warning repeated on 5,000 lines is one line of
output with its count and first few lines, not 5,000. The grouping itself is
``ztd.identity.findings`` (the console's pre-flight shows the same groups)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from ztd.cli.output import plural
from ztd.identity.findings import FIRST_LINES, Finding, grouped


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
