"""What every command shares: its exit codes, and where and how it prints.

One exit-code table for every command (README, "Exit codes"): a command that checks a file
exits 3 for an invalid file whether or not it would then have sent it.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

EXIT_OK = 0
EXIT_CALL_FAILED = 1
EXIT_DEVICE_FAILED = 2
EXIT_INVALID_INPUT = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C (128 + SIGINT)
EXIT_CODES = (
    "Exit codes: 0 all fine; 1 the call failed (connection, token, not found, refused); "
    "2 at least one device failed; 3 the input is invalid (nothing was uploaded); "
    "4 still unfinished when --timeout expired; 130 interrupted (Ctrl-C)."
)

# The one word every summary uses for a device that went through its job without an error,
# whatever the job (an upload, a policy assignment): `ztd status` cannot tell which job a
# tracking id is, and the completion events count these devices as "succeeded".
SUCCEEDED = "succeeded"

# Output going to a file or a pipe is not wrapped at 80 columns: a script or `grep` should
# see one record per line, however long.
_UNWRAPPED_WIDTH = 100_000


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that wraps only on a terminal."""
    out = Console(stderr=stderr, soft_wrap=True)
    if not out.is_terminal and out.width <= 80 and not _columns_set():
        out = Console(stderr=stderr, soft_wrap=True, width=_UNWRAPPED_WIDTH)
    return out


RECORD_LABEL_WIDTH = 12


def add_columns(table: Table, columns: Iterable[str], whole: Collection[str] = ()) -> None:
    """Add ``columns`` to ``table``: long text folds onto more lines, except in the columns
    named in ``whole`` (ids, names and times that are copied into the next command), which
    never wrap. Print such a table with :func:`print_table`."""
    for column in columns:
        if column in whole:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold")


def print_table(out: Console, table: Table) -> None:
    """Print ``table`` without cutting a no-wrap column short. Where those columns do not
    fit (two GUIDs and a time need more than 80 columns), each row is printed as a record
    instead, one ``column  value`` line per column, so that an id is never folded or
    ellipsised and no line is wider than the terminal."""
    unbounded = out.options.update_width(_UNWRAPPED_WIDTH)
    for column in table.columns:
        if column.no_wrap:  # as wide as its longest value (a value's words do not split)
            widths = (Measurement.get(out, unbounded, cell).maximum for cell in column.cells)
            column.min_width = max(widths, default=None)
    if not table.row_count or Measurement.get(out, unbounded, table).minimum <= out.width:
        out.print(table)
    else:
        _print_records(out, table)


def _print_records(out: Console, table: Table) -> None:
    """``table``'s rows as records: its title, then per row a grid of column and value."""
    if table.title:
        out.print(table.title, style="bold")
    labels = [str(column.header) for column in table.columns]
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    for row in rows:
        grid = Table.grid(padding=(0, 2))
        # Labels fold past 12 characters, leaving a GUID (36) its line from 50 columns up.
        grid.add_column(style="bold", max_width=RECORD_LABEL_WIDTH, overflow="fold")
        grid.add_column(overflow="fold")
        for label, value in zip(labels, row, strict=True):
            grid.add_row(label, value)
        out.print()
        out.print(grid)


def fail(message: str, code: int) -> NoReturn:
    """``error: message`` as one line on stderr, and exit with ``code``."""
    console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _columns_set() -> bool:
    return bool(os.environ.get("COLUMNS", "").strip())


def shown_time(moment: datetime | None) -> str:
    """A time as the commands print it: ISO 8601 to the second (``-`` for none)."""
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 device``, ``2 devices``; ``many`` for irregular words."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


CHECK_PROGRESS_FROM = 5_000_000  # bytes: smaller files are checked before anyone waits


@contextmanager
def checking(err: Console, name: str, size: int, quiet: bool = False) -> Iterator[None]:
    """A live line (spinner and elapsed time, on a terminal) while a big file is checked:
    an 80 MB file takes several seconds, and silence looks like a hang."""
    if quiet or size < CHECK_PROGRESS_FROM:
        yield
        return
    what = f"{escape(name)} ({size / 1e6:,.0f} MB)"
    if not err.is_terminal:  # a log gets the line; a terminal, a spinner with the time
        err.print(f"checking {what} ...", highlight=False)
        yield
        return
    with err.status(f"checking {what} ..."):
        yield
    err.print(f"checked {what}", highlight=False)
