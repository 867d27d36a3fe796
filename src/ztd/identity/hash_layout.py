"""The record layout of a hardware hash: the walk that proves the records tile the record area,
and a small cache of layouts already proven.

Why a cache: walking ~30 records in Python costs about as much as base64-decoding the whole
hash, and it is the one part of decoding that cannot be pushed into C directly. But hashes of
the same model from the same tool share their layout (the sequence of record types and
lengths), and uploads come in batches of identical models. Once a layout is known, a compiled
``struct.Struct`` reads every record's (type, length) in one C call; if the tuple equals the
known one, the walk would visit exactly the same offsets (each step depends only on the length
read at the current offset), so the layout and everything derived from it is reused. A hash
with a new layout takes the full walk, which also produces the precise error for a bad one.

The cache is process-global and unlocked: under the GIL, a race between threads can at worst
skip a cached layout (that hash then takes the walk) or miscount the bound, never return a
wrong layout, because a layout is only returned after its check matched this blob.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from operator import itemgetter
from typing import Final

from ztd.identity import records as rt
from ztd.identity.errors import HashDecodeError

__all__ = ["Layout", "cached_layouts", "clear_cache", "layout_of", "walk"]

# Bounds the cache against a flood of distinct layouts (hostile or just diverse input): at
# worst every hash then takes the walk, which is the uncached speed.
_MAX_LAYOUTS: Final = 512
_MAX_PER_TOTAL_LEN: Final = 8


@dataclass(slots=True)  # not frozen: internal, and frozen construction is measurably slower
class Layout:
    """What the record structure alone says; slices index the decoded blob."""

    check: struct.Struct | None  # unpacks (type, length) of every record; None: not cached
    expected: tuple[int, ...]  # what check yields for this layout
    types: bytes  # one byte per record
    serial: slice | None  # payload slices of the text records the decoder reports
    manufacturer: slice | None
    model: slice | None
    pkid: slice | None
    tpm: slice | None
    uuid: slice | None  # the 16 UUID bytes
    macs: tuple[slice, ...]  # the 6 MAC bytes of each network adapter record
    disks: tuple[slice, ...]  # disk serial record payloads
    unknown_types: tuple[int, ...]
    has_tpm: bool


_MAX_SEEN: Final = 4096

_cache: dict[int, list[Layout]] = {}
_cached = 0
_seen: set[int] = set()  # total_len values met once, not yet worth a cached layout


def walk(blob: bytes, total_len: int) -> list[int]:
    """Offsets of the records; raise HashDecodeError unless they tile [4, total_len) exactly."""
    offsets: list[int] = []
    append = offsets.append
    o = 4
    # `+`/`*` rather than `|`/`<<`: CPython 3.11 specialises int add and multiply.
    while o < total_len:
        append(o)
        ln = blob[o + 2] + 256 * blob[o + 3]
        if ln < 4:
            raise HashDecodeError(
                "bad-record-layout",
                f"record at offset {o} (type {blob[o]}) has length {ln}; "
                "a record is at least 4 bytes",
            )
        o += ln
    if o != total_len:
        last = offsets[-1]  # o > total_len: the last record overshot
        raise HashDecodeError(
            "bad-record-layout",
            f"record at offset {last} (type {blob[last]}, length {o - last}) runs past "
            f"total_len {total_len}",
        )
    return offsets


def layout_of(blob: bytes, total_len: int) -> Layout:
    """The proven layout of ``blob``'s records (from the cache when one matches)."""
    candidates = _cache.get(total_len)
    if candidates is not None:
        for layout in candidates:
            if layout.check is not None and layout.check.unpack_from(blob, 4) == layout.expected:
                return layout
    offsets = walk(blob, total_len)
    # Compiling the check costs more than one walk, so a layout is cached only once its
    # total_len has been seen before: batches of one model pay it once, while a batch of
    # all-different machines never pays it.
    if candidates is None and total_len not in _seen:
        if len(_seen) >= _MAX_SEEN:
            _seen.clear()
        _seen.add(total_len)
        return _build(blob, offsets, total_len, cache=False)
    layout = _build(blob, offsets, total_len, cache=True)
    _remember(total_len, layout)
    return layout


def _remember(total_len: int, layout: Layout) -> None:
    global _cached
    if _cached >= _MAX_LAYOUTS:
        _cache.clear()
        _cached = 0
    bucket = _cache.setdefault(total_len, [])
    if len(bucket) >= _MAX_PER_TOTAL_LEN:
        bucket.pop(0)
        _cached -= 1
    bucket.append(layout)
    _cached += 1


def cached_layouts() -> int:
    """How many layouts the cache holds (for tests)."""
    return _cached


def clear_cache() -> None:
    """Forget every layout (tests and benchmarks use this to measure the uncached path)."""
    global _cached
    _cache.clear()
    _seen.clear()
    _cached = 0


def _build(blob: bytes, offsets: list[int], total_len: int, *, cache: bool) -> Layout:
    count = len(offsets)
    types = bytes(itemgetter(*offsets)(blob)) if count > 1 else blob[4 : 4 + count]
    find = types.find

    def end(i: int) -> int:
        return offsets[i + 1] if i + 1 < count else total_len

    def payload(record_type: int) -> slice | None:
        i = find(record_type)
        return None if i < 0 else slice(offsets[i] + 4, end(i))

    uuid = None
    i = find(rt.SMBIOS_UUID)
    if i >= 0 and end(i) - offsets[i] >= 20:  # a truncated UUID record counts as none
        uuid = slice(offsets[i] + 4, offsets[i] + 20)
    macs: list[slice] = []
    i = find(rt.NETWORK_ADAPTER)
    while i >= 0:
        if end(i) - offsets[i] >= 14:  # the MAC sits at payload offset 4
            macs.append(slice(offsets[i] + 8, offsets[i] + 14))
        i = find(rt.NETWORK_ADAPTER, i + 1)
    disks: list[slice] = []
    i = find(rt.DISK_SERIAL)
    while i >= 0:
        disks.append(slice(offsets[i] + 4, end(i)))
        i = find(rt.DISK_SERIAL, i + 1)
    unknown = types.translate(None, rt.KNOWN_TYPE_BYTES)

    check = None
    expected: tuple[int, ...] = ()
    if cache:
        lengths = [end(k) - offsets[k] for k in range(count)]
        check = struct.Struct("<" + "".join(f"BxH{n - 4}x" if n > 4 else "BxH" for n in lengths))
        expected = tuple(v for t, n in zip(types, lengths, strict=True) for v in (t, n))
    return Layout(
        check=check,
        expected=expected,
        types=types,
        serial=payload(rt.SMBIOS_SERIAL),
        manufacturer=payload(rt.SYSTEM_MANUFACTURER),
        model=payload(rt.PRODUCT_NAME),
        pkid=payload(rt.PRODUCT_KEY_ID),
        tpm=payload(rt.TPM_VERSION),
        uuid=uuid,
        macs=tuple(macs),
        disks=tuple(disks),
        unknown_types=tuple(sorted(set(unknown))) if unknown else (),
        has_tpm=rt.TPM_VERSION in types
        or rt.TPM_EK_PUBLIC in types
        or rt.OFFLINE_DEVICE_ID in types,
    )
