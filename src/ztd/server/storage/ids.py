"""Time-ordered GUIDs (UUID version 7 layout) for rows inserted in bulk.

Random UUID4 keys land all over a B-tree index; keys that start with the time append at its
end instead, which keeps bulk inserts of thousands of devices cheap. Still RFC 4122 GUIDs,
so clients see ordinary ids.
"""

from __future__ import annotations

import os
import time


def new_ids(count: int) -> list[str]:
    millis = time.time_ns() // 1_000_000
    random = os.urandom(10 * count)
    ids = []
    for i in range(count):
        # 48-bit timestamp, then version 7, then 74 random bits with the RFC 4122 variant.
        r = random[10 * i : 10 * i + 10]
        hi = int.from_bytes(r[:2], "big") & 0x0FFF | 0x7000
        lo = int.from_bytes(r[2:], "big") & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        h = f"{millis:012x}{hi:04x}{lo:016x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids
