"""Quoting faults in a CSV row, each located to its line and column.

Python's csv reader (like Excel) reads a badly quoted row without complaint and guesses: a
quotation mark that is never closed swallows every line after it into one value, a mark
inside an unquoted value is kept as a character, and characters after a closing mark are
glued to the value. The device then fails for a reason that has nothing to do with it (803:
its serial number is now half the file). This module finds the fault itself, so the reader
reports one precise finding instead: where the quote opens, which column, what to do.

The grammar is RFC 4180's, with any of the reader's delimiters: a field is either unquoted
(no quotation mark, delimiter or line break in it) or quoted from its first character to a
closing mark followed by a delimiter or the end of the row, with ``""`` for a mark inside.
A row that matches the grammar is judged by one regular expression; only a faulty row is
walked, by jumps (``str.find`` and a compiled search), never a character at a time, so a
quote left open at the top of an 80 MB file costs a few scans in C.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

__all__ = ["StructureFault", "row_fault"]

_BREAK: Final = re.compile(r"\r\n|\r|\n")
_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab"}
_SHOWN: Final = 30  # characters of a value a message quotes


@dataclass(frozen=True, slots=True)
class StructureFault:
    """One quoting fault. ``line``/``column`` are 1-based (physical line, character in it);
    ``field`` is the 0-based field of the row it is in."""

    line: int
    column: int
    field: int
    code: str  # "unterminated-quote", "quote-in-unquoted-field", "text-after-quote"
    message: str


@cache
def _patterns(delimiter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a whole well-formed row, the next character that ends or breaks an unquoted field)."""
    d = re.escape(delimiter)
    field = rf'(?:"[^"]*(?:""[^"]*)*"|[^"{d}\r\n]*)'
    row = re.compile(rf"{field}(?:{d}{field})*(?:\r\n|\r|\n)?")
    return row, re.compile(rf'[{d}"\r\n]')


def row_fault(raw: str, first_line: int, delimiter: str) -> StructureFault | None:
    """The first quoting fault of one row, or None. ``raw`` is the row's text as the file
    holds it (its physical lines, line breaks kept, from the line the row starts on);
    ``first_line`` that line's number."""
    well_formed, special = _patterns(delimiter)
    if well_formed.fullmatch(raw):
        return None
    pos, field, n = 0, 0, len(raw)
    while True:  # at the start of a field
        if pos < n and raw[pos] == '"':
            opened = pos
            pos += 1
            while True:
                close = raw.find('"', pos)
                if close < 0:
                    return _unterminated(raw, first_line, opened, field, None)
                if raw.startswith('""', close):
                    pos = close + 2
                    continue
                pos = close + 1
                break
            if pos >= n or raw[pos] in "\r\n":
                return None
            if raw[pos] == delimiter:
                pos, field = pos + 1, field + 1
                continue
            if _BREAK.search(raw, opened, close):
                # The mark that "closed" it is on a later line: the opening one was never
                # closed on its own line, which is the fault to report.
                return _unterminated(raw, first_line, opened, field, close)
            return _text_after_quote(raw, first_line, pos, field, delimiter)
        found = special.search(raw, pos)
        if found is None or found.group() in "\r\n":
            return None
        if found.group() == '"':
            return _quote_inside(raw, first_line, pos, found.start(), field, special)
        pos, field = found.end(), field + 1


def _where(raw: str, first_line: int, pos: int) -> tuple[int, int]:
    """(line, column) of ``raw[pos]``."""
    breaks = list(_BREAK.finditer(raw, 0, pos))
    start = breaks[-1].end() if breaks else 0
    return first_line + len(breaks), pos - start + 1


def _shown(value: str) -> str:
    value = value if len(value) <= _SHOWN else value[:_SHOWN] + "..."
    return repr(value)


def _unterminated(
    raw: str, first_line: int, opened: int, field: int, closed: int | None
) -> StructureFault:
    line, column = _where(raw, first_line, opened)
    if closed is None:
        swallowed = "everything after it, to the end of the file, was read as one value"
    else:
        until, _ = _where(raw, first_line, closed)
        swallowed = f"lines {line}-{until} were read as one value"
    return StructureFault(
        line,
        column,
        field,
        "unterminated-quote",
        f"unterminated quoted field: the quotation mark at line {line}, column {column} "
        f"opens a value that is not closed on its line, so {swallowed}. Close the quote at "
        "the end of the value, or remove it (device values need no quotes)",
    )


def _quote_inside(
    raw: str, first_line: int, start: int, at: int, field: int, special: re.Pattern[str]
) -> StructureFault:
    line, column = _where(raw, first_line, at)
    ends = special.search(raw, at + 1)
    end = len(raw) if ends is None else ends.start()
    while ends is not None and ends.group() == '"':  # the value goes on past more marks
        ends = special.search(raw, ends.end())
        end = len(raw) if ends is None else ends.start()
    value = raw[start:end]
    return StructureFault(
        line,
        column,
        field,
        "quote-in-unquoted-field",
        f"a quotation mark at line {line}, column {column} is inside the unquoted value "
        f"{_shown(value)}; remove it, or quote the whole value (the quotation mark its "
        'first character) and double each mark inside: "a""b"',
    )


def _text_after_quote(
    raw: str, first_line: int, pos: int, field: int, delimiter: str
) -> StructureFault:
    line, column = _where(raw, first_line, pos)
    rest = _BREAK.split(raw[pos:], 1)[0].split(delimiter, 1)[0]
    follows = _NAMES.get(delimiter, "delimiter")
    return StructureFault(
        line,
        column,
        field,
        "text-after-quote",
        f"characters after a closing quotation mark at line {line}, column {column} "
        f"({_shown(rest)}); a quoted value must be followed by a {follows} "
        "or the end of the line: move them inside the quotes, or remove them",
    )
