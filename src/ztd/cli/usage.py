"""How the command line presents its usage: invalid arguments exit 3, as every other
invalid input of ztd, and help paragraphs are wrapped by Rich, not by the source.

Click ends a usage error (an unknown option, a missing value, a value out of its range,
no command given) with exit code 2, which ztd's table (README.md) gives to a device that
failed. The app's top-level group re-labels every such error on its way out, for all the
commands and groups below it, keeping Click's message."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from ztd.cli.output import EXIT_INVALID_INPUT

# Click's UsageError, whichever Click Typer runs on (its own copy since 0.26): the base of
# BadParameter, which Typer exports.
USAGE_ERROR: type[Exception] = typer.BadParameter.__mro__[1]
assert USAGE_ERROR.__name__ == "UsageError"


@contextmanager
def _invalid_input() -> Iterator[None]:
    try:
        yield
    except USAGE_ERROR as exc:
        exc.exit_code = EXIT_INVALID_INPUT  # type: ignore[attr-defined]
        raise


class ZtdGroup(TyperGroup):
    """The `ztd` group: Typer's, with usage errors exiting 3 (see the module)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        with _invalid_input():  # the top level's own options, or no command at all
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _invalid_input():  # every subcommand's parsing and its BadParameter
            return super().invoke(ctx)


def reflow_help(app: typer.Typer) -> None:
    """Give every command of ``app`` (and of its groups) its docstring with each paragraph
    on one line, for Rich to wrap at the terminal's width. In Typer's "rich" markup mode
    the line breaks of a docstring's later paragraphs are kept, so that a paragraph wrapped
    at 88 columns in the source breaks mid-sentence at 80 ("... that disabling" / "the
    registration ..."). A paragraph starting with \\b keeps its lines (Click's marker)."""
    for command in app.registered_commands:
        if command.help is None and command.callback is not None:
            command.help = reflowed(inspect.getdoc(command.callback) or "")
        elif command.help is not None:
            command.help = reflowed(command.help)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)


def reflowed(text: str) -> str:
    """``text`` with the single line breaks inside each paragraph made spaces."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)
