"""Hardware-hash throughput: decode + validate per second on one core.

Run: .venv/bin/python bench/identity.py [--count N] [--rounds R]

Measures, over the same distinct 4,000-character synthetic hashes in one run:

* ztd      validate_hash (decode + every check), what the server runs per device;
* naive    a straightforward decoder: base64.b64decode(validate=True) of the whole text, SHA-256,
           a struct-based walk that slices every record, text decoding of the reported fields;
* cold     validate_hash with the layout cache emptied before every hash (hash_layout.py): the
           speed for a batch in which no two hashes share a record layout;
* ceiling  only base64-decoding the record area + SHA-256, with no per-record Python work:
           no pure-Python decoder that checks the checksum can beat it.

Prints PASS when ztd reaches the 50,000 hashes/s target. Bounded: well under 30 s.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pybase64

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ztd.identity.hash_layout import clear_cache
from ztd.identity.synthetic import synthesize_hash
from ztd.identity.validation import validate_hash

TARGET = 50_000
_HEADER = struct.Struct("<BxH")


def naive_decode(text: str) -> dict[str, object]:
    """The obvious implementation, for comparison."""
    blob = base64.b64decode(text.strip(), validate=True)
    if blob[:2] != b"OA":
        raise ValueError("magic")
    total_len = struct.unpack_from("<H", blob, 2)[0]
    records: dict[int, list[bytes]] = {}
    o = 4
    while o < total_len:
        kind, length = _HEADER.unpack_from(blob, o)
        if length < 4:
            raise ValueError("length")
        records.setdefault(kind, []).append(blob[o + 4 : o + length])
        o += length
    if o != total_len or blob[total_len : total_len + 4] != b"CS$\x00":
        raise ValueError("layout")
    ok = hashlib.sha256(blob[:total_len]).digest() == blob[total_len + 4 : total_len + 36]

    def text_of(kind: int) -> str | None:
        found = records.get(kind)
        return found[0].split(b"\0", 1)[0].decode("utf-8", "replace").strip() if found else None

    return {
        "serial": text_of(14),
        "manufacturer": text_of(16),
        "model": text_of(17),
        "pkid": text_of(24),
        "checksum_ok": ok,
    }


def ceiling(text: str) -> bool:
    """base64 of the record area + SHA-256 only (reads total_len, walks nothing), with the
    fastest base64 decoder there is (pybase64, SIMD), which ztd uses too."""
    head = pybase64.b64decode(text[:8])
    total_len = head[2] | head[3] << 8
    blob = pybase64.b64decode(text[: -(-(total_len + 36) // 3) * 4])
    return hashlib.sha256(memoryview(blob)[:total_len]).digest() == blob[total_len + 4 :][:32]


def _rate(fn: Callable[[str], object], hashes: list[str], rounds: int) -> float:
    """Best-of-rounds hashes per second (the minimum is the least disturbed by other load)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for h in hashes:
            fn(h)
        best = min(best, time.perf_counter() - start)
    return len(hashes) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="distinct hashes (default 5000)")
    parser.add_argument("--rounds", type=int, default=10, help="timed passes (default 10)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as specified

    t0 = time.perf_counter()
    hashes = [synthesize_hash(seed) for seed in range(args.count)]
    assert all(len(h) == 4000 for h in hashes)
    assert all(validate_hash(h).ok for h in hashes[:200])
    print(
        f"{len(hashes):,} distinct synthetic hashes of 4,000 characters, one core, best of "
        f"{args.rounds} passes (generated in {time.perf_counter() - t0:.1f} s)"
    )

    def cold(h: str) -> object:
        clear_cache()
        return validate_hash(h)

    # Interleave short measurements so that a slow phase of a shared machine hits all five,
    # and keep each one's best.
    def registration(h: str) -> object:
        return validate_hash(h, with_warnings=False)

    ztd = naive = ceil = uncached = lean = 0.0
    per = 2
    for _ in range(max(1, args.rounds // per)):
        ztd = max(ztd, _rate(validate_hash, hashes, per))
        lean = max(lean, _rate(registration, hashes, per))
        naive = max(naive, _rate(naive_decode, hashes, per))
        ceil = max(ceil, _rate(ceiling, hashes, per))
        uncached = max(uncached, _rate(cold, hashes, per))

    print(
        f"  ztd validate_hash (decode + checks): {ztd:>9,.0f} hashes/s ({1e6 / ztd:5.1f} us each)"
    )
    print(
        f"  ztd, errors only (what uploads run): {lean:>9,.0f} hashes/s ({1e6 / lean:5.1f} us each)"
    )
    print(
        f"  naive decoder (no checks):           {naive:>9,.0f} hashes/s "
        f"({1e6 / naive:5.1f} us each)  ztd is {ztd / naive:.2f}x"
    )
    print(
        f"  ztd, layout cache cold every hash:   {uncached:>9,.0f} hashes/s "
        f"({1e6 / uncached:5.1f} us each)  ztd is {uncached / naive:.2f}x naive"
    )
    print(
        f"  ceiling (base64 + SHA-256 only):     {ceil:>9,.0f} hashes/s "
        f"({1e6 / ceil:5.1f} us each)  ztd reaches {ztd / ceil:.0%}"
    )
    verdict = "PASS" if ztd >= TARGET else "FAIL"
    print(f"target: >= {TARGET:,} hashes/s -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
