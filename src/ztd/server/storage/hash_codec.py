"""Compact storage of hardware hashes, without losing the exact string a client sent.

A 4,000-character hash is 3,000 bytes of which about 2,000 are zero padding. Stored as the
decoded bytes up to the padding plus the padded length, it takes a quarter of the space and
turns back into the identical string. Anything that would not round-trip exactly (odd
padding, whitespace, not base64 at all) is kept as text.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple


class StoredHash(NamedTuple):
    blob: bytes | None  # decoded bytes without trailing zero padding
    length: int | None  # decoded length including the padding
    text: str | None  # the string itself, when it is not exactly reproducible from blob


NONE = StoredHash(None, None, None)


def pack(text: str | None) -> StoredHash:
    if text is None:
        return NONE
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return StoredHash(None, None, text)
    blob = raw.rstrip(b"\0")
    if base64.b64encode(raw).decode("ascii") != text:
        return StoredHash(None, None, text)
    return StoredHash(blob, len(raw), None)


def unpack(blob: bytes | None, length: int | None, text: str | None) -> str | None:
    if text is not None or blob is None or length is None:
        return text
    return base64.b64encode(bytes(blob).ljust(length, b"\0")).decode("ascii")
