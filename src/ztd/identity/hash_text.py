"""The base64 text of a hash: the slow, precise path that says exactly what is wrong with it.

decode_hash tries a fast strict decode first and comes here only for text that fails it (or
that has whitespace inside, or an odd size), so the detail costs nothing for good input.
"""

from __future__ import annotations

import binascii
from typing import Final

from ztd.identity import records as rt
from ztd.identity.errors import HashDecodeError

__all__ = ["MAX_HASH_CHARS", "clean_base64", "encoded_end", "hash_to_bytes", "zero_run"]

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
_WHITESPACE: Final = b" \t\r\n\v\f"


def clean_base64(text: str) -> str:
    """Return the hash as clean base64 (whitespace removed) or raise HashDecodeError."""
    s = text.strip()
    if not s:
        raise HashDecodeError("too-short", "the hardware hash is empty")
    if not s.isascii():
        pos, ch = next((i, c) for i, c in enumerate(s) if not c.isascii())
        raise HashDecodeError("not-base64", f"character {ch!r} at position {pos + 1} is not base64")
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
        raise HashDecodeError(
            "not-base64",
            f"base64 length {len(raw)} is not a multiple of 4 (the hash looks truncated)",
        )
    return raw.decode("ascii")


def hash_to_bytes(text: str) -> bytes:
    """Fully base64-decode a hash (padding included) after the checks of clean_base64."""
    return binascii.a2b_base64(clean_base64(text))
