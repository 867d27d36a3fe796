"""Compact storage of hardware hashes, without losing a character of the text stored
(uploads store a hash's canonical text, hash_text.canonical_text: no whitespace).

A 4,000-character hash is 3,000 bytes of which about 2,000 are zero padding, and zero bytes
are runs of ``A`` in base64. Stored without that trailing run plus the original length, a
hash takes about a third of the space and turns back into the identical string; no base64
decoding is needed either way. Non-ASCII text (never a valid hash) is kept as it is.
"""

from __future__ import annotations

import binascii
from typing import NamedTuple

from ztd.identity.hash_text import encoded_end, zero_run


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
    return StoredHash(_without_zero_padding(text).encode("ascii"), len(text), None)


def _without_zero_padding(text: str) -> str:
    """A prefix of ``text`` after which it is all "A" (any such prefix restores exactly)."""
    end = _padding_start(text)
    if end is not None and text.endswith(zero_run(len(text) - end), end):
        return text[:end]
    # Not shaped like a hash: find the run of "A"s the slow way. str.rstrip("A") walks the
    # characters one by one (~15 µs for a hash's 2,400); whole blocks compare at memcmp speed.
    end = len(text)
    while end >= len(_BLOCK) and text.endswith(_BLOCK, 0, end):
        end -= len(_BLOCK)
    return text[:end].rstrip("A")


def _padding_start(text: str) -> int | None:
    """Where a hardware hash's zero padding starts in its base64, read from its header: bytes
    2-3 give where the records end, and a 36-byte checksum record follows them."""
    try:
        header = binascii.a2b_base64(text[:8], strict_mode=True)
    except binascii.Error:
        return None
    if len(header) < 4:
        return None
    end = encoded_end(header[2] + 256 * header[3])
    return end if end <= len(text) else None


_BLOCK = "A" * 256


def unpack(blob: bytes | None, length: int | None, text: str | None) -> str | None:
    if text is not None or blob is None or length is None:
        return text
    stripped = bytes(blob).decode("ascii")
    return stripped + "A" * (length - len(stripped))
