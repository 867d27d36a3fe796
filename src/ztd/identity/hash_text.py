"""The base64 text of a hash: the slow, precise path that says exactly what is wrong with it.

decode_hash tries a fast strict decode first and comes here only for text that fails it (or
that has whitespace inside, or an odd size), so the detail costs nothing for good input.
"""

from __future__ import annotations

import binascii
import hashlib
import unicodedata
from typing import Final

from ztd.identity import records as rt
from ztd.identity.errors import HashDecodeError

__all__ = [
    "MAX_HASH_CHARS",
    "WHITESPACE",
    "canonical_text",
    "clean_base64",
    "encoded_end",
    "hash_to_bytes",
    "zero_run",
]

# 16 KiB decoded. No real hash comes close (3000 bytes); the bound stops a hostile upload from
# making us copy megabytes per device. One third-party validator uses the same outer bound.
MAX_HASH_CHARS: Final = 21848


def encoded_end(total_len: int) -> int:
    """How many base64 characters hold a hash's records (up to ``total_len``) and its CS
    trailer: whole quads. What follows is zero padding."""
    return -(-(total_len + rt.TRAILER_LEN) // 3) * 4


# Zero padding encodes as runs of "A": comparing with a cached run (instead of building a
# 2,400-character string per hash) is far cheaper than decoding it.
_zero_runs: dict[int, str] = {}


def zero_run(length: int) -> str:
    """``"A" * length``, cached: hashes come in a handful of lengths."""
    run = _zero_runs.get(length)
    if run is None:
        if len(_zero_runs) > 256:  # junk input must not grow this without bound
            _zero_runs.clear()
        run = _zero_runs[length] = "A" * length
    return run


_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# What a hash may carry inside besides base64, and loses: ASCII whitespace, as line-wrapped
# base64 (a line break every 76 characters) and hashes pasted from mails or field files have.
# Anything else, a no-break space included, is no part of a hash: clean_base64 names it.
WHITESPACE: Final = " \t\r\n\v\f"
_WHITESPACE: Final = WHITESPACE.encode("ascii")
_DROP_WHITESPACE: Final = str.maketrans("", "", WHITESPACE)


def canonical_text(text: str) -> str:
    """The hash's text as ztd stores, shows and compares it: stripped at both ends (as
    decode_hash strips) and without WHITESPACE inside, so the same hash sent on one line
    or wrapped is the same text. '=' padding stays as sent (missing padding is refused by
    clean_base64, never added). Text that is no valid hash gets the same treatment; its
    other characters are left for the decoder to name. About 1 µs for a 4,000-character
    hash without whitespace (the server runs it for every device)."""
    s = text.strip()
    # Six substring scans (memchr speed) beat one regex or a translate by 5-10x.
    if " " in s or "\n" in s or "\r" in s or "\t" in s or "\v" in s or "\f" in s:
        s = s.translate(_DROP_WHITESPACE)
    return s


def clean_base64(text: str) -> str:
    """Return the hash as clean base64 (whitespace removed) or raise HashDecodeError."""
    s = text.strip()
    if not s:
        raise HashDecodeError("too-short", "the hardware hash is empty")
    if not s.isascii():
        pos, ch = next((i, c) for i, c in enumerate(s) if not c.isascii())
        name = unicodedata.name(ch, "unnamed").lower()  # NBSP, zero-width space: invisible
        raise HashDecodeError(
            "not-base64",
            f"character {ch!r} (U+{ord(ch):04X}, {name}) at position {pos + 1} is not base64",
        )
    raw = s.encode("ascii")
    if raw.translate(None, _WHITESPACE) != raw:
        # Line-wrapped base64 (e.g. pasted from a mail) is still the same hash.
        raw = raw.translate(None, _WHITESPACE)
    if len(raw) > MAX_HASH_CHARS:
        raise HashDecodeError(
            "too-long",
            f"the hardware hash is {len(raw):,} characters; the limit is {MAX_HASH_CHARS:,} "
            "(16 KiB decoded, a real hash is 4,000)",
        )
    junk = raw.translate(None, _ALPHABET)
    padding = len(raw) - len(raw.rstrip(b"="))
    if junk and (padding > 2 or junk != b"=" * padding):
        # "=" is padding only as the final run of one or two; anywhere else it is an error.
        body_end = len(raw) - padding if padding <= 2 else len(raw)
        for i, c in enumerate(raw):
            if c not in _ALPHABET and not (c == 0x3D and i >= body_end):
                what = "padding '=' before the end" if c == 0x3D else f"character {chr(c)!r}"
                raise HashDecodeError(
                    "not-base64", f"{what} at position {i + 1} is not valid base64"
                )
    if len(raw) % 4:
        raise _unpadded_or_truncated(raw)
    return raw.decode("ascii")


def _unpadded_or_truncated(raw: bytes) -> HashDecodeError:
    """Base64 whose length is not a multiple of 4: either its '=' padding was cut off (the
    hash is whole: with the padding appended its SHA-256 trailer verifies) or it was cut
    short. Both are refused (strict base64 decoders such as .NET's Convert.FromBase64String
    refuse unpadded text, so accepting it here could pass a file that fails at Microsoft),
    but the message says which, and for missing padding exactly what to append."""
    n = len(raw)
    missing = 4 - n % 4
    if missing < 3:  # one or two '=' can be missing; three never (n % 4 == 1)
        try:
            data = binascii.a2b_base64(raw + b"=" * missing, strict_mode=True)
        except binascii.Error:
            data = b""  # padding inside the text already: not this fault
        total_len = data[2] | data[3] << 8 if len(data) >= 4 else 0
        end = total_len + rt.TRAILER_LEN
        if (
            data[:2] == rt.MAGIC
            and total_len >= rt.HEADER_LEN
            and end <= len(data)
            and data[total_len : total_len + 4] == b"CS\x24\x00"
            and hashlib.sha256(data[:total_len]).digest() == data[total_len + 4 : end]
        ):
            pad = "=" * missing
            return HashDecodeError(
                "missing-padding",
                f"the base64 '=' padding at the end of the hash is missing: append {pad!r} "
                f"(with it the hash is whole and its SHA-256 checksum verifies; base64 "
                f"length {n} is not a multiple of 4, which strict base64 decoders refuse)",
            )
    return HashDecodeError(
        "not-base64",
        f"base64 length {n} is not a multiple of 4 and the hash is incomplete (it looks "
        "truncated: copy the whole hash again)",
    )


def hash_to_bytes(text: str) -> bytes:
    """Fully base64-decode a hash (padding included) after the checks of clean_base64."""
    return binascii.a2b_base64(clean_base64(text))
