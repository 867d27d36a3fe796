"""Decoder for the Autopilot hardware hash (the base64 "4K hash" of Get-WindowsAutopilotInfo).

Layout (device-identity.md section 1.3, checked on real hashes from four makers)::

    0            'O' 'A'
    2            uint16 LE total_len: where the record area ends
    4..total_len records: uint8 type, uint8 reserved, uint16 LE length (header included), payload
    total_len    'C' 'S' 0x24 0x00 + SHA-256 of bytes [0:total_len]
    ...          zero padding (to 3000 bytes in every real hash)

Speed matters: the server decodes every hash of every upload (target: 50,000 hashes/s on one
core). The decoder therefore base64-decodes only the prefix holding the records and the trailer
(strict mode validates it on the way), checks the zero padding with one string comparison,
keeps the per-record Python loop to one length read, finds record types with ``bytes.find``
on a one-byte-per-record string built in C, and decodes text only for the fields it reports.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from operator import itemgetter
from typing import Final, cast

from ztd.identity import records as rt

__all__ = [
    "MAX_HASH_CHARS",
    "DecodedHash",
    "HashDecodeError",
    "RawRecord",
    "decode_hash",
    "decode_hash_bytes",
    "hash_to_bytes",
    "iter_records",
]

# 16 KiB decoded. No real hash comes close (3000 bytes); the bound stops a hostile upload from
# making us copy megabytes per device. One third-party validator uses the same outer bound.
MAX_HASH_CHARS: Final = 21848

_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WHITESPACE: Final = b" \t\r\n\v\f"
# Smallest blob that can hold a header, zero records and the trailer.
_MIN_BYTES: Final = rt.HEADER_LEN + rt.TRAILER_LEN
_MIN_CHARS: Final = -(-_MIN_BYTES // 3) * 4
# Zero padding encodes as 'A's; comparing with this is far cheaper than re-validating it.
_ZERO_TAIL: Final = "A" * MAX_HASH_CHARS


class HashDecodeError(ValueError):
    """The text is not a structurally valid Autopilot hardware hash.

    ``code`` is a stable short token (``not-base64``, ``too-short``, ``too-long``, ``bad-magic``,
    ``bad-record-layout``, ``bad-trailer``); ``str(error)`` is a precise message for people,
    for example ``"record at offset 812 runs past total_len 1003"``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class DecodedHash:
    """What the hash says about the machine. Strings are stripped; absent records give None/()."""

    serial: str | None  # record 14, SMBIOS system serial number
    manufacturer: str | None  # record 16
    model: str | None  # record 17
    smbios_uuid: str | None  # record 12 as an upper-case GUID string (SMBIOS byte order swapped)
    pkid: str | None  # record 24, product key id
    mac_addresses: tuple[str, ...]  # record 8, "AA:BB:CC:DD:EE:FF"
    disk_serials: tuple[str, ...]  # record 7, the serial part before "|<model>|"; empties dropped
    tpm_version: str | None  # record 13, e.g. "2.0" (the whole string if it has no version field)
    checksum_ok: bool  # the CS trailer's SHA-256 matches bytes [0:total_len]
    unknown_record_types: tuple[int, ...]  # sorted, distinct types with no known meaning
    total_len: int
    byte_length: int  # decoded length including the padding
    has_tpm_records: bool  # any of 11 (ODUID), 13 (TPM version), 25 (EK public key)


@dataclass(slots=True)
class _DecodedHashBuilder:
    """Mutable twin of DecodedHash with the identical slot layout.

    A frozen dataclass sets each field through object.__setattr__, which costs about 1.5 us per
    instance here, several percent of the whole decode. The decoder builds this twin with plain
    slot stores and then retypes it to DecodedHash (allowed because the layouts are identical,
    which the check below guarantees).
    """

    serial: str | None
    manufacturer: str | None
    model: str | None
    smbios_uuid: str | None
    pkid: str | None
    mac_addresses: tuple[str, ...]
    disk_serials: tuple[str, ...]
    tpm_version: str | None
    checksum_ok: bool
    unknown_record_types: tuple[int, ...]
    total_len: int
    byte_length: int
    has_tpm_records: bool


if _DecodedHashBuilder.__slots__ != DecodedHash.__slots__:  # pragma: no cover - edit guard
    raise RuntimeError("_DecodedHashBuilder must list DecodedHash's fields in the same order")
_retype = object.__setattr__


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record, for readable dumps (``ztd hash decode``)."""

    offset: int
    type: int
    length: int
    payload: bytes


def _fail(code: str, message: str) -> HashDecodeError:
    return HashDecodeError(code, message)


def _layout_error(total_len: int, nbytes: int) -> HashDecodeError:
    if total_len < rt.HEADER_LEN:
        return _fail("bad-record-layout", f"total_len {total_len} is inside the 4-byte header")
    if total_len > nbytes:
        return _fail(
            "bad-record-layout", f"total_len {total_len} exceeds the {nbytes} decoded bytes"
        )
    return _fail(
        "bad-trailer",
        f"no room for the 36-byte CS checksum record after total_len {total_len} "
        f"({nbytes} decoded bytes)",
    )


def _clean_base64(text: str) -> str:
    """Slow path: return the hash as clean base64 (whitespace removed) or raise precisely."""
    s = text.strip()
    if not s:
        raise _fail("too-short", "the hardware hash is empty")
    if not s.isascii():
        pos, ch = next((i, c) for i, c in enumerate(s) if not c.isascii())
        raise _fail("not-base64", f"character {ch!r} at position {pos + 1} is not base64")
    raw = s.encode("ascii")
    if raw.translate(None, _WHITESPACE) != raw:
        # Line-wrapped base64 (e.g. pasted from a mail) is still the same hash.
        raw = raw.translate(None, _WHITESPACE)
    if len(raw) > MAX_HASH_CHARS:
        raise _fail(
            "too-long",
            f"the hardware hash is {len(raw):,} characters; the limit is {MAX_HASH_CHARS:,} "
            "(16 KiB decoded, a real hash is 4,000)",
        )
    junk = raw.translate(None, _ALPHABET)
    if junk and (junk.strip(b"=") or len(junk) > 2 or not raw.endswith(junk)):
        for i, c in enumerate(raw):
            if c not in _ALPHABET and not (c == 0x3D and i >= len(raw) - 2):
                what = "padding '=' before the end" if c == 0x3D else f"character {chr(c)!r}"
                raise _fail("not-base64", f"{what} at position {i + 1} is not valid base64")
    if len(raw) % 4:
        raise _fail(
            "not-base64",
            f"base64 length {len(raw)} is not a multiple of 4 (the hash looks truncated)",
        )
    return raw.decode("ascii")


def hash_to_bytes(text: str) -> bytes:
    """Fully base64-decode a hash (padding included) after the same checks as decode_hash."""
    return binascii.a2b_base64(_clean_base64(text))


def decode_hash(text: str) -> DecodedHash:
    """Decode and structurally validate a base64 hardware hash.

    Raises HashDecodeError when the text is not base64, is too short or too long, lacks the
    ``OA`` magic, has records that do not tile offset 4..total_len exactly, has a record shorter
    than its own header, or lacks the ``CS`` trailer. A SHA-256 mismatch is *not* raised: it is
    reported as ``checksum_ok=False`` so that callers can still show what the hash contains.
    """
    s = text.strip()
    n = len(s)
    # Fast path for well-formed input: ASCII, whole base64 quads, sane size. a2b_base64 in
    # strict mode validates what it decodes; anything odd takes the precise slow path.
    if s.isascii() and n & 3 == 0 and _MIN_CHARS <= n <= MAX_HASH_CHARS:
        try:
            return _decode_text(s, True)
        except binascii.Error:
            pass
    return _decode_text(_clean_base64(s), False)


def _decode_text(s: str, strict: bool) -> DecodedHash:
    """Decode clean-looking base64 ``s``; with ``strict`` a bad character raises binascii.Error."""
    n = len(s)
    head = binascii.a2b_base64(s[:8], strict_mode=strict)
    nbytes = n // 4 * 3 - (2 if s[-2] == "=" else 1 if s[-1] == "=" else 0)
    if nbytes < _MIN_BYTES:
        raise _fail(
            "too-short",
            f"the hash decodes to {nbytes} bytes; at least {_MIN_BYTES} are needed "
            "(4-byte header + 36-byte CS trailer)",
        )
    if head[:2] != rt.MAGIC:
        raise _fail(
            "bad-magic",
            f"decoded data starts with {head[:2].hex(' ')}, not 'OA' (4f 41); "
            "an Autopilot hash starts with 'T0'",
        )
    total_len = head[2] | head[3] << 8
    if total_len < rt.HEADER_LEN or total_len + rt.TRAILER_LEN > nbytes:
        raise _layout_error(total_len, nbytes)
    # Decode only the records and the trailer: ceil(end / 3) base64 quads. The rest is padding;
    # zero padding is all 'A's, which a string comparison confirms far faster than decoding.
    cut = -(-(total_len + rt.TRAILER_LEN) // 3) * 4
    blob = binascii.a2b_base64(s[:cut], strict_mode=strict)
    if strict and cut < n and s[cut:] != _ZERO_TAIL[: n - cut]:
        binascii.a2b_base64(s[cut:], strict_mode=True)  # non-zero padding must still be base64
    return _decode_blob(blob, total_len, nbytes)


def decode_hash_bytes(data: bytes) -> DecodedHash:
    """Decode an already base64-decoded hash (same checks as decode_hash, minus base64)."""
    if len(data) < _MIN_BYTES:
        raise _fail("too-short", f"the hash is {len(data)} bytes; at least {_MIN_BYTES} needed")
    if data[:2] != rt.MAGIC:
        raise _fail("bad-magic", f"data starts with {data[:2].hex(' ')}, not 'OA' (4f 41)")
    total_len = data[2] | data[3] << 8
    if total_len < rt.HEADER_LEN or total_len + rt.TRAILER_LEN > len(data):
        raise _layout_error(total_len, len(data))
    return _decode_blob(data, total_len, len(data))


def _walk(blob: bytes, total_len: int) -> list[int]:
    """Offsets of the records; raise unless they tile [4, total_len) exactly."""
    offsets: list[int] = []
    append = offsets.append
    o = 4
    # The hot loop (about 30 records per hash): literals instead of module constants, and
    # `+`/`*` rather than `|`/`<<` because CPython 3.11 specialises int add and multiply.
    while o < total_len:
        append(o)
        ln = blob[o + 2] + 256 * blob[o + 3]
        if ln < 4:
            raise _fail(
                "bad-record-layout",
                f"record at offset {o} (type {blob[o]}) has length {ln}; "
                "a record is at least 4 bytes",
            )
        o += ln
    if o != total_len:
        last = offsets[-1]  # o > total_len: the last record overshot
        raise _fail(
            "bad-record-layout",
            f"record at offset {last} (type {blob[last]}, length {o - last}) runs past "
            f"total_len {total_len}",
        )
    return offsets


def _guid(p: bytes) -> str:
    # SMBIOS stores the first three GUID fields little-endian; the usual string shows them
    # big-endian (what `wmic csproduct get uuid` prints).
    h = (p[3::-1] + p[5:3:-1] + p[7:5:-1] + p[8:16]).hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _tpm_version(s: str) -> str:
    # "TPM-Version:2.0 -Level:0-Revision:1.38-VendorID:'IFX '-Firmware:..." -> "2.0"
    if s.startswith("TPM-Version:"):
        return s[12:].split(" ", 1)[0].split("-", 1)[0] or s
    return s


def _decode_blob(blob: bytes, total_len: int, nbytes: int) -> DecodedHash:
    # Record type numbers are literals below (names in records.py): a module attribute lookup
    # per use is measurable at this call rate.
    offsets = _walk(blob, total_len)
    if blob[total_len : total_len + 4] != b"CS\x24\x00":
        raise _fail(
            "bad-trailer",
            f"expected the CS checksum record (43 53 24 00) at offset {total_len}, found "
            f"{blob[total_len : total_len + 4].hex(' ')}",
        )
    checksum_ok = (
        hashlib.sha256(memoryview(blob)[:total_len]).digest()
        == blob[total_len + 4 : total_len + 36]
    )
    # One byte per record, built in C: bytes.find then locates a record type without a
    # Python-level scan, and bytes.translate lists the unknown types.
    types = bytes(itemgetter(*offsets)(blob)) if len(offsets) > 1 else blob[4:5]
    find = types.find

    # Text records are NUL-terminated: keep what precedes the first NUL, stripped.
    i = find(14)
    serial = None if i < 0 else _text(blob, offsets[i])
    i = find(16)
    manufacturer = None if i < 0 else _text(blob, offsets[i])
    i = find(17)
    model = None if i < 0 else _text(blob, offsets[i])
    i = find(24)
    pkid = None if i < 0 else _text(blob, offsets[i])
    i = find(13)
    tpm = None if i < 0 else _tpm_version(_text(blob, offsets[i]))

    uuid = None
    i = find(12)
    if i >= 0:
        o = offsets[i]
        if blob[o + 2] + 256 * blob[o + 3] >= 20:
            uuid = _guid(blob[o + 4 : o + 20])

    macs: list[str] = []
    i = find(8)
    while i >= 0:
        o = offsets[i]
        if blob[o + 2] + 256 * blob[o + 3] >= 14:  # the MAC sits at payload offset 4
            macs.append(blob[o + 8 : o + 14].hex(":").upper())
        i = find(8, i + 1)
    disks: list[str] = []
    i = find(7)
    while i >= 0:
        # "<serial>.|<model>|": keep the serial; a VM disk has none ("|Virtual Disk|Msft|").
        d = _text(blob, offsets[i]).split("|", 1)[0].rstrip(". ")
        if d:
            disks.append(d)
        i = find(7, i + 1)

    unknown = types.translate(None, rt.KNOWN_TYPE_BYTES)
    built = _DecodedHashBuilder(
        serial,
        manufacturer,
        model,
        uuid,
        pkid,
        tuple(macs),
        tuple(disks),
        tpm,
        checksum_ok,
        tuple(sorted(set(unknown))) if unknown else (),
        total_len,
        nbytes,
        tpm is not None or 25 in types or 11 in types,
    )
    _retype(built, "__class__", DecodedHash)
    return cast(DecodedHash, built)


def _text(blob: bytes, o: int) -> str:
    """The NUL-terminated text payload of the record at offset ``o``, stripped."""
    return (
        blob[o + 4 : o + blob[o + 2] + 256 * blob[o + 3]]
        .decode("utf-8", "replace")
        .split("\0", 1)[0]
        .strip()
    )


def iter_records(text: str) -> list[RawRecord]:
    """Every record of a structurally valid hash, in order (for dumps; not the fast path)."""
    data = hash_to_bytes(text)
    decode_hash_bytes(data)  # raises on a bad structure, so the walk below is safe
    total_len = data[2] | data[3] << 8
    out: list[RawRecord] = []
    for o in _walk(data, total_len):
        ln = data[o + 2] | data[o + 3] << 8
        out.append(RawRecord(o, data[o], ln, data[o + 4 : o + ln]))
    return out
