"""Turn the bytes of an uploaded CSV into text.

Files arrive as UTF-16 LE with a BOM (Windows PowerShell 5.1's Out-File, so most
Get-WindowsAutopilotInfo output), UTF-8 with or without a BOM (PowerShell 7, CIPP), UTF-16
without a BOM (rare, some tools), and ANSI/Windows-1252 (Excel on western Windows).

Master files also grow by appending the output of several tools, so one file can hold two
encodings: UTF-8 rows followed by UTF-16 ones (every other byte NUL), UTF-16 followed by 8-bit
rows, a second byte-order mark in the middle, UTF-8 next to ANSI. Read with any single
encoding such a file turns into phantom rows, so it is refused as a whole, naming the byte and
line where the encoding changes and how to re-save it (TextDecodeProblem).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ztd.identity.json_text import without_trailing_commas
from ztd.wire.json_keys import find_duplicate_key

__all__ = ["DecodedText", "TextDecodeProblem", "TextNote", "decode_csv_bytes", "load_json_bytes"]

RESAVE: Final = (
    "Nothing was read. Re-save the whole file in one encoding: split it at that line, open "
    "each part in a text editor and save it as UTF-8 (Notepad: Save as, Encoding UTF-8), "
    "then join the parts (or capture the devices again into a new file)"
)


class TextDecodeProblem(ValueError):
    """The bytes are not text in one encoding (raised as CsvFormatError upstream)."""


@dataclass(frozen=True, slots=True)
class TextNote:
    """Something worth a warning about how the bytes were read; ``line`` None: the file."""

    line: int | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str  # a name for people: "UTF-16 LE (BOM)", "UTF-8", "Windows-1252", ...
    notes: tuple[TextNote, ...] = ()


_BREAKS: Final = re.compile(r"\r\n|\r|\n")
_BYTE_BREAKS: Final = re.compile(rb"\r\n|\r|\n")


def _line_at(text: str, index: int) -> int:
    """1-based physical line of ``text[index]`` (CR, LF and CRLF each end a line)."""
    return len(_BREAKS.findall(text, 0, index)) + 1


def _byte_line_at(data: bytes, offset: int) -> int:
    return len(_BYTE_BREAKS.findall(data, 0, offset)) + 1


def _looks_utf16(data: bytes) -> str | None:
    """'le'/'be' when the first line looks like BOM-less UTF-16 text (every other byte NUL).
    Only the first line: in a file that grew by appending, later lines may be UTF-16."""
    end = data.find(b"\n", 0, 400)
    sample = data[: 400 if end < 0 else end + 1]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "be"
    return None


# -- UTF-16 -------------------------------------------------------------------------------

# A UTF-16 code unit that bytes in another encoding turn into has both bytes in 8-bit text
# (tab, LF, CR, printable ASCII: "PF" -> U+4650), or its low byte NUL (text in the other byte
# order: "A" -> U+4100). Sixteen such units in a row never occur in real UTF-16 device files (a
# run of CJK letters whose bytes all happen to be ASCII is about 1 in 10 million), and appended
# rows give thousands of them (a hash alone is 4,000). Searched on the byte planes, not per
# character: an 80 MB file costs a few regex scans in C.
_TEXT: Final = bytes(1 if 0x09 <= b <= 0x7E else 0 for b in range(256))
_TEXT_OR_NUL: Final = bytes(1 if b == 0 or 0x09 <= b <= 0x7E else 0 for b in range(256))
_RUN: Final = b"\x01" * 16


def _foreign_unit(body: bytes, order: str) -> int | None:
    """Index of the first code unit of a run that is not UTF-16 text of this byte order."""
    n = len(body) // 2
    high = body[1::2] if order == "le" else body[0 : 2 * n : 2]
    if high == bytes(n):
        return None  # every high byte NUL: ASCII text in this byte order (the common file)
    low = body[0::2] if order == "le" else body[1::2]
    # 1 where a unit's high byte is 8-bit text and its low byte text or NUL, else 0: flags
    # built and ANDed by bytes.translate and big-integer arithmetic, all in C.
    hi = int.from_bytes(high.translate(_TEXT), "big")
    lo = int.from_bytes(low[:n].translate(_TEXT_OR_NUL), "big")
    flags = (hi & lo).to_bytes(n, "big")
    i = flags.find(_RUN)
    if i >= 0:
        return i
    # A few such units that end the file (maybe with half a unit left over) were appended too.
    k = len(flags) - len(flags.rstrip(b"\x01"))
    if k >= 8 or (k >= 2 and len(body) % 2):
        return n - k
    return None


def _utf16(data: bytes, skip: int, order: str, label: str) -> DecodedText:
    codec = f"utf-16-{order}"
    body = data[skip:]
    try:
        text, broken = body.decode(codec), None
    except UnicodeDecodeError as exc:
        # One character per code unit: offsets stay 2 * index.
        text, broken = body.decode(codec, "replace"), exc
    what = f"the file is {label}"
    boms = [i for i in (text.find("\ufeff"), text.find("\ufffe")) if i >= 0]
    bom = min(boms) if boms else None
    nul = text.find("\0")
    run = _foreign_unit(body, order)
    found = [i for i in (bom, run, nul if nul >= 0 else None) if i is not None]
    if found:
        i = min(found)
        where = f"byte {skip + 2 * i:,} (line {_line_at(text, i)})"
        if i == bom:
            reason = f"a second byte-order mark at {where}: another file was appended to this one"
        elif i == nul:
            reason = f"a NUL character at {where}, which no CSV holds"
        else:
            reason = (
                f"from {where} on the bytes are not {label.split(' (')[0]} text but 8-bit "
                "text (UTF-8 or ANSI) or UTF-16 of the other byte order: rows written by "
                "another tool were appended"
            )
        raise TextDecodeProblem(f"the encoding changes part-way: {what}, but {reason}. {RESAVE}")
    if broken is not None:
        at = broken.start
        raise TextDecodeProblem(
            f"{what} but byte {skip + at:,} (line {_line_at(text, at // 2)}) "
            f"is not valid UTF-16 ({broken.reason}). {RESAVE}"
        )
    return DecodedText(text, label, _line_ending_notes(text))


# -- 8-bit --------------------------------------------------------------------------------

_UTF8_SEQUENCE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _nul_problem(data: bytes, nul: int) -> TextDecodeProblem:
    """A NUL in 8-bit text: the start of appended UTF-16, or damage."""
    window = data[nul : nul + 64]
    alternating = len(window) >= 8 and window[0::2].count(0) >= 0.9 * len(window[0::2])
    alternating = alternating and window[1::2].count(0) <= 0.1 * len(window[1::2])
    if not alternating:
        where = f"byte {nul:,} (line {_byte_line_at(data, nul)})"
        return TextDecodeProblem(
            f"a NUL byte (0x00) at {where}: no CSV holds one, so the file is damaged or has "
            f"binary data in it. {RESAVE}"
        )
    # "A\0B\0" (LE) starts one byte before its first NUL, "\0A\0B" (BE) at it; appended text
    # starts a line, and a BOM may precede it.
    if data[nul - 3 : nul - 1] == codecs.BOM_UTF16_LE:
        start, order = nul - 3, "UTF-16 LE (with a byte-order mark)"
    elif data[nul - 2 : nul] == codecs.BOM_UTF16_BE:
        start, order = nul - 2, "UTF-16 BE (with a byte-order mark)"
    elif nul == 0 or data[nul - 1 : nul] in (b"\n", b"\r"):
        start, order = nul, "UTF-16 BE"
    else:
        start, order = nul - 1, "UTF-16 LE"
    before = "" if start == 0 else f"the first {start:,} bytes are 8-bit text, but "
    return TextDecodeProblem(
        f"the encoding changes part-way: {before}at byte {start:,} "
        f"(line {_byte_line_at(data, start)}) {order} text begins (every other byte NUL), "
        "as Windows PowerShell's Out-File writes it: rows written by another tool were "
        f"appended. {RESAVE}"
    )


def _eight_bit(data: bytes, skip: int) -> DecodedText:
    nul = data.find(b"\0", skip)
    if nul >= 0:
        raise _nul_problem(data, nul)
    label = "UTF-8 (BOM)" if skip else "UTF-8"
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = skip + exc.start
        where = f"byte {bad:,} (line {_byte_line_at(data, bad)}, 0x{data[bad]:02x})"
        if skip:
            raise TextDecodeProblem(
                "the encoding changes part-way: the file starts with a UTF-8 byte-order mark, "
                f"but {where} is not UTF-8 (ANSI text appended?). {RESAVE}"
            ) from None
        utf8 = _UTF8_SEQUENCE.search(data)
        if utf8 is not None:
            first = f"byte {utf8.start():,} (line {_byte_line_at(data, utf8.start())})"
            raise TextDecodeProblem(
                f"the encoding changes part-way: the text at {first} is UTF-8, but {where} "
                f"is not (ANSI/Windows-1252 text next to UTF-8). {RESAVE}"
            ) from None
        # Windows-1252 leaves five bytes undefined; "replace" keeps the reader total.
        text = data.decode("cp1252", "replace")
        note = TextNote(
            None, "encoding", "the file is not UTF-8 and was read as Windows-1252 (ANSI)"
        )
        return DecodedText(text, "Windows-1252", (note, *_line_ending_notes(text)))
    bom = text.find("\ufeff")
    if bom >= 0:
        raise TextDecodeProblem(
            "the encoding changes part-way: a UTF-8 byte-order mark at byte "
            f"{skip + len(text[:bom].encode()):,} (line {_line_at(text, bom)}): another "
            f"file was appended to this one. {RESAVE}"
        )
    return DecodedText(text, label, _line_ending_notes(text))


# -- line endings -------------------------------------------------------------------------

_ENDING_NAMES: Final = {"\r\n": "CRLF (Windows)", "\n": "LF (Unix)", "\r": "CR (old Mac)"}


def _line_ending_notes(text: str) -> tuple[TextNote, ...]:
    """One warning where the line endings change: a sign of rows appended by another tool.
    The rows still read correctly (every ending is understood), so it is not an error."""
    crlf, lf, cr = text.count("\r\n"), text.count("\n"), text.count("\r")
    if (crlf == lf == cr) or (crlf == 0 and (lf == 0 or cr == 0)):
        return ()  # one style throughout (counted in C; the scan below is for mixed files)
    first = _BREAKS.search(text)
    if first is None:
        return ()
    style = first.group()
    for m in _BREAKS.finditer(text, first.end()):
        if m.group() != style:
            line = _line_at(text, m.start())
            return (
                TextNote(
                    line,
                    "line-endings",
                    f"line endings change at line {line}: {_ENDING_NAMES[m.group()]} where "
                    f"the lines before end with {_ENDING_NAMES[style]}; the file was probably "
                    "appended to by another tool (check those rows; re-saving the file in a "
                    "text editor makes them uniform)",
                ),
            )
    return ()


# -- entry points -------------------------------------------------------------------------


def load_json_bytes(data: bytes) -> Any:
    """A JSON file as Windows tools write it: UTF-8 with or without a BOM, or UTF-16 (what
    Windows PowerShell 5.1's ``Out-File`` writes), with trailing commas read as the API
    reads them (``json_text``). orjson.JSONDecodeError when it is not JSON;
    TextDecodeProblem when its encoding is broken or mixed; ``json_keys.DuplicateKey`` when
    an object gives a property twice (the service refuses such a body too)."""
    text = decode_csv_bytes(data).text
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        document = without_trailing_commas(text.encode())
        if document is None:
            raise
    duplicate = find_duplicate_key(document, text)
    if duplicate is not None:
        raise duplicate
    return document


def decode_csv_bytes(data: bytes) -> DecodedText:
    """Decode by BOM, else by UTF-16 heuristics, else strict UTF-8, else Windows-1252; refuse
    (TextDecodeProblem) a file whose encoding changes part-way."""
    if data.startswith(codecs.BOM_UTF8):
        return _eight_bit(data, 3)
    if data.startswith(codecs.BOM_UTF16_LE):
        return _utf16(data, 2, "le", "UTF-16 LE (BOM)")
    if data.startswith(codecs.BOM_UTF16_BE):
        return _utf16(data, 2, "be", "UTF-16 BE (BOM)")
    guess = _looks_utf16(data)
    if guess is not None:
        return _utf16(data, 0, guess, f"UTF-16 {guess.upper()} (no BOM)")
    return _eight_bit(data, 0)
