"""GUIDs as the service stores them: one canonical spelling (lower case, hyphenated) for
ids clients send, and time-ordered new ids (UUID version 7 layout) for rows inserted in bulk.

Random UUID4 keys land all over a B-tree index; keys that start with the time append at its
end instead, which keeps bulk inserts of thousands of devices cheap. Still RFC 4122 GUIDs,
so clients see ordinary ids.
"""

from __future__ import annotations

import os
import time
import uuid

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def new_ids(count: int) -> list[str]:
    # 48-bit millisecond timestamp, version 7, the RFC 4122 variant, 74 random bits.
    ms = f"{time.time_ns() // 1_000_000:012x}"
    head = f"{ms[:8]}-{ms[8:]}-7"
    rnd = os.urandom(10 * count).hex()
    variant = _VARIANT
    return [
        f"{head}{r[:3]}-{variant[r[3]]}{r[4:7]}-{r[7:19]}"
        for r in (rnd[20 * i : 20 * i + 20] for i in range(count))
    ]


def maybe_guid(value: str) -> str | None:
    """``value`` in the canonical spelling when it is a GUID (any case, braces, no hyphens:
    what uuid.UUID accepts); None when it is not."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
