"""Every `ztd ... --help` reads well at 80 columns: Rich wraps each paragraph where the
terminal ends, never where the docstring's source line ended (a new user found `ztd
webhooks replay --help` breaking after "that disabling" and "`ztd webhooks update`")."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ztd.cli.main import build
from ztd.cli.usage import reflowed

WIDTH = 80
APP = build()


def _paths(command: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, [*path, name])


COMMANDS = list(_paths(typer.main.get_command(APP), []))


def _help(path: list[str]) -> str:
    done = CliRunner().invoke(APP, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
    assert done.exit_code == 0, done.output
    return done.output


def short_lines(text: str) -> list[tuple[str, str]]:
    """Pairs of lines of one paragraph (or of one table cell) where the first word of the
    second would have fitted on the first: a break that Rich's wrapping does not make."""
    found = []
    lines = text.splitlines()
    for first, second in pairwise(lines):
        boxed = first.startswith("│") and second.startswith("│")
        if boxed:  # a cell's next line: blank up to its column, not a new row
            inner, following = first[2:-2], second[2:-2]
            text_of_next = following.lstrip()
            column = len(following) - len(text_of_next)
            if column < 8 or text_of_next.startswith(("-", "*", "[")):
                continue  # a new row, or Typer's own [default: ...] / [required]
            before, room = inner[column:].rstrip(), len(following) - column - 1
        elif first.startswith(("│", "╭", "╰")) or second.startswith(("│", "╭", "╰")):
            continue
        else:
            before, text_of_next, room = first.rstrip(), second.strip(), WIDTH - 1
        word = text_of_next.split(" ")[0]
        if before.strip() and text_of_next and len(before) + 1 + len(word) <= room:
            found.append((first, second))
    return found


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(["ztd", *path]))
def test_help_wraps_only_where_the_terminal_ends(path: list[str]) -> None:
    assert short_lines(_help(path)) == []


def test_the_check_sees_the_break_the_user_saw() -> None:
    """The checker itself: replay's help as it was rendered before the fix."""
    before = (
        " With ID, the deliveries of events since --failed-since that failed or that     \n"
        " disabling                                                                      \n"
        " the registration cancelled; a disabled registration is refused: `ztd webhooks  \n"
    )
    assert len(short_lines(before)) == 1


def test_replay_help_reads_as_sentences() -> None:
    shown = " ".join(_help(["webhooks", "replay"]).split())
    assert "refused until `ztd webhooks update ID URL --event TYPE` re-enables it." in shown
    assert "an age (90m, 24h, 7d; at most 3650d)" in shown


def test_paragraphs_are_joined_and_click_s_verbatim_blocks_kept() -> None:
    assert reflowed("Title.\n\n  One\n  sentence.\n\n  Two.") == "Title.\n\nOne sentence.\n\nTwo."
    assert reflowed("Title.\n\n\b\nkept\nas is") == "Title.\n\n\b\nkept\nas is"
