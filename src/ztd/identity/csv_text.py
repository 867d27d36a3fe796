"""Turn the bytes of an uploaded CSV into text (device-identity.md section 2.5).

Files arrive as UTF-16 LE with a BOM (Windows PowerShell 5.1's Out-File, so most
Get-WindowsAutopilotInfo output), UTF-8 with or without a BOM (PowerShell 7, CIPP), UTF-16
without a BOM (rare, some tools), and ANSI/Windows-1252 (Excel on western Windows).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["DecodedText", "decode_csv_bytes"]


class TextDecodeProblem(ValueError):
    """The bytes claim an encoding they do not satisfy (raised as CsvFormatError upstream)."""


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str  # a name for people: "UTF-16 LE (BOM)", "UTF-8", "Windows-1252", ...
    note: str | None  # something worth a warning about how the bytes were read


def _looks_utf16(data: bytes) -> str | None:
    """'le'/'be' when the first bytes look like BOM-less UTF-16 text (every other byte NUL)."""
    sample = data[:400]
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


def _utf16(data: bytes, codec: str, label: str) -> DecodedText:
    try:
        return DecodedText(data.decode(codec), label, None)
    except UnicodeDecodeError as exc:
        raise TextDecodeProblem(
            f"the file looks like {label} but byte {exc.start} is not valid UTF-16 ({exc.reason})"
        ) from None


def load_json_bytes(data: bytes) -> Any:
    """A JSON file as Windows tools write it: UTF-8 with or without a BOM, or UTF-16 (what
    Windows PowerShell 5.1's ``Out-File`` writes). orjson.JSONDecodeError when it is not
    JSON; TextDecodeProblem when its UTF-16 is broken."""
    return orjson.loads(decode_csv_bytes(data).text)


def decode_csv_bytes(data: bytes) -> DecodedText:
    """Decode by BOM, else by UTF-16 heuristics, else strict UTF-8, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return DecodedText(data[3:].decode("utf-8"), "UTF-8 (BOM)", None)
        except UnicodeDecodeError as exc:
            return DecodedText(
                data[3:].decode("utf-8", "replace"),
                "UTF-8 (BOM)",
                f"byte {exc.start + 3} is not valid UTF-8; such bytes were replaced with U+FFFD",
            )
    if data.startswith(codecs.BOM_UTF16_LE):
        return _utf16(data[2:], "utf-16-le", "UTF-16 LE (BOM)")
    if data.startswith(codecs.BOM_UTF16_BE):
        return _utf16(data[2:], "utf-16-be", "UTF-16 BE (BOM)")
    guess = _looks_utf16(data)
    if guess is not None:
        return _utf16(data, f"utf-16-{guess}", f"UTF-16 {guess.upper()} (no BOM)")
    try:
        return DecodedText(data.decode("utf-8"), "UTF-8", None)
    except UnicodeDecodeError:
        pass
    # Windows-1252 leaves five bytes undefined; "replace" keeps the reader total on any input.
    return DecodedText(
        data.decode("cp1252", "replace"),
        "Windows-1252",
        "the file is not UTF-8 and was read as Windows-1252 (ANSI)",
    )
