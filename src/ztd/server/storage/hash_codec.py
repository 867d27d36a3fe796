"""Compact storage of hardware hashes, without losing the exact string a client sent.

A 4,000-character hash is 3,000 bytes of which about 2,000 are zero padding, and zero bytes
are runs of ``A`` in base64. Stored without that trailing run plus the original length, a
hash takes about a third of the space and turns back into the identical string; no base64
decoding is needed either way. Non-ASCII text (never a valid hash) is kept as it is.
"""

from __future__ import annotations

from typing import NamedTuple


class StoredHash(NamedTuple):
    blob: bytes | None  # the ASCII text without its trailing run of "A"
    length: int | None  # the original length in characters
    text: str | None  # the string itself, when it is not ASCII


NONE = StoredHash(None, None, None)


def pack(text: str | None) -> StoredHash:
    if text is None:
        return NONE
    if not text.isascii():
        return StoredHash(None, None, text)
    return StoredHash(_strip_zero_padding(text).encode("ascii"), len(text), None)


_BLOCK = "A" * 256


def _strip_zero_padding(text: str) -> str:
    # str.rstrip("A") walks 2,500 characters one by one (~15 µs a hash); comparing whole
    # blocks first is memcmp speed.
    end = len(text)
    while end >= len(_BLOCK) and text.endswith(_BLOCK, 0, end):
        end -= len(_BLOCK)
    return text[:end].rstrip("A")


def unpack(blob: bytes | None, length: int | None, text: str | None) -> str | None:
    if text is not None or blob is None or length is None:
        return text
    stripped = bytes(blob).decode("ascii")
    return stripped + "A" * (length - len(stripped))
