"""Decoder for the Autopilot hardware hash (the base64 "4K hash" of Get-WindowsAutopilotInfo).

Layout (the Autopilot documentation, checked on real hashes from four makers)::

    0            'O' 'A'
    2            uint16 LE total_len: where the record area ends
    4..total_len records: uint8 type, uint8 reserved, uint16 LE length (header included), payload
    total_len    'C' 'S' 0x24 0x00 + SHA-256 of bytes [0:total_len]
    ...          zero padding (to 3000 bytes in every real hash)

Speed matters: the server decodes every hash of every upload (target: 50,000 hashes/s on one
core). So the decoder base64-decodes only the prefix holding the records and the trailer
(strict mode validates it on the way), confirms the zero padding with one string comparison,
never walks the padding, reuses proven record layouts (hash_layout.py) instead of walking
records in Python, and decodes text only for the fields it reports.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from functools import partial
from typing import Final, cast

import pybase64

from ztd.identity import records as rt
from ztd.identity.errors import HashDecodeError
from ztd.identity.hash_layout import Layout, layout_of, walk
from ztd.identity.hash_text import (
    MAX_HASH_CHARS,
    clean_base64,
    encoded_end,
    hash_to_bytes,
    zero_run,
)

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

# Smallest blob that can hold a header, zero records and the trailer.
_MIN_BYTES: Final = rt.HEADER_LEN + rt.TRAILER_LEN
_MIN_CHARS: Final = -(-_MIN_BYTES // 3) * 4
_strict_b64 = partial(pybase64.b64decode, validate=True)


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

    A frozen dataclass sets each field through object.__setattr__, which costs over 1 us per
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
    """One record, for readable dumps (``ztd hash decode --records``)."""

    offset: int
    type: int
    length: int
    payload: bytes


def _layout_error(total_len: int, nbytes: int) -> HashDecodeError:
    if total_len < rt.HEADER_LEN:
        return HashDecodeError(
            "bad-record-layout", f"total_len {total_len} is inside the 4-byte header"
        )
    if total_len > nbytes:
        return HashDecodeError(
            "bad-record-layout", f"total_len {total_len} exceeds the {nbytes} decoded bytes"
        )
    return HashDecodeError(
        "bad-trailer",
        f"no room for the 36-byte CS checksum record after total_len {total_len} "
        f"({nbytes} decoded bytes)",
    )


def decode_hash(text: str, *, identity_only: bool = False) -> DecodedHash:
    """Decode and structurally validate a base64 hardware hash.

    Raises HashDecodeError when the text is not base64, is too short or too long, lacks the
    ``OA`` magic, has records that do not tile offset 4..total_len exactly, has a record shorter
    than its own header, or lacks the ``CS`` trailer. A SHA-256 mismatch is *not* raised: it is
    reported as ``checksum_ok=False`` so that callers can still show what the hash contains.

    With ``identity_only`` the fields that only feed warnings (SMBIOS UUID, MAC addresses,
    disk serials, TPM version) are not extracted and come back empty: what registration needs
    (the checks, serial, manufacturer, model, PKID) costs about a fifth less.
    """
    s = text.strip()
    n = len(s)
    # Fast path for well-formed input: ASCII, whole base64 quads, sane size. a2b_base64 in
    # strict mode validates what it decodes; anything odd takes the precise slow path.
    if s.isascii() and n & 3 == 0 and _MIN_CHARS <= n <= MAX_HASH_CHARS:
        try:
            return _decode_text(s, True, identity_only)
        except (binascii.Error, ValueError):  # not strict base64: the precise path says why
            pass
    try:
        return _decode_text(clean_base64(s), False, identity_only)
    except binascii.Error as exc:  # clean_base64 should have said why; never let it escape
        raise HashDecodeError("not-base64", f"the hash is not valid base64 ({exc})") from None


def _decode_text(s: str, strict: bool, identity_only: bool = False) -> DecodedHash:
    """Decode clean-looking base64 ``s``; with ``strict`` a bad character raises binascii.Error."""
    n = len(s)
    head = binascii.a2b_base64(s[:8], strict_mode=strict)
    nbytes = n // 4 * 3 - (2 if s[-2] == "=" else 1 if s[-1] == "=" else 0)
    if nbytes < _MIN_BYTES:
        raise HashDecodeError(
            "too-short",
            f"the hash decodes to {nbytes} bytes; at least {_MIN_BYTES} are needed "
            "(4-byte header + 36-byte CS trailer)",
        )
    if head[:2] != b"OA":
        raise HashDecodeError(
            "bad-magic",
            f"decoded data starts with {head[:2].hex(' ')}, not 'OA' (4f 41); "
            "an Autopilot hash starts with 'T0'",
        )
    total_len = head[2] + 256 * head[3]
    if total_len < 4 or total_len + 36 > nbytes:
        raise _layout_error(total_len, nbytes)
    # Decode only the records and the trailer: ceil(end / 3) base64 quads.
    cut = encoded_end(total_len)
    # pybase64 (SIMD) decodes this ~1,600-character prefix 4x faster than binascii; with
    # validate=True it accepts and rejects exactly what strict a2b_base64 does (fuzzed).
    if strict and cut < n and s[cut - 1] == "=":
        # Valid padding for the prefix alone, but "=" cannot come before the zero padding.
        raise ValueError("padding inside the hash")
    blob = _strict_b64(s[:cut]) if strict else binascii.a2b_base64(s[:cut])
    if strict and cut < n and not s.endswith(zero_run(n - cut), cut):
        binascii.a2b_base64(s[cut:], strict_mode=True)  # non-zero padding must still be base64
    return _decode_blob(blob, total_len, nbytes, identity_only)


def decode_hash_bytes(data: bytes) -> DecodedHash:
    """Decode an already base64-decoded hash (same checks as decode_hash, minus base64)."""
    if len(data) < _MIN_BYTES:
        raise HashDecodeError(
            "too-short", f"the hash is {len(data)} bytes; at least {_MIN_BYTES} needed"
        )
    if data[:2] != rt.MAGIC:
        raise HashDecodeError(
            "bad-magic", f"data starts with {data[:2].hex(' ')}, not 'OA' (4f 41)"
        )
    total_len = data[2] | data[3] << 8
    if total_len < rt.HEADER_LEN or total_len + rt.TRAILER_LEN > len(data):
        raise _layout_error(total_len, len(data))
    return _decode_blob(data, total_len, len(data))


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


def _decode_blob(
    blob: bytes, total_len: int, nbytes: int, identity_only: bool = False
) -> DecodedHash:
    lay = layout_of(blob, total_len)  # raises for records that do not tile
    if blob[total_len : total_len + 4] != b"CS\x24\x00":
        raise HashDecodeError(
            "bad-trailer",
            f"expected the CS checksum record (43 53 24 00) at offset {total_len}, found "
            f"{blob[total_len : total_len + 4].hex(' ')}",
        )
    checksum_ok = (
        hashlib.sha256(memoryview(blob)[:total_len]).digest()
        == blob[total_len + 4 : total_len + 36]
    )
    # Text records are NUL-terminated: keep what precedes the first NUL, stripped.
    sl = lay.serial
    serial = None if sl is None else blob[sl].decode("utf-8", "replace").split("\0", 1)[0].strip()
    sl = lay.manufacturer
    maker = None if sl is None else blob[sl].decode("utf-8", "replace").split("\0", 1)[0].strip()
    sl = lay.model
    model = None if sl is None else blob[sl].decode("utf-8", "replace").split("\0", 1)[0].strip()
    sl = lay.pkid
    pkid = None if sl is None else blob[sl].decode("utf-8", "replace").split("\0", 1)[0].strip()
    tpm = uuid = None
    macs: tuple[str, ...] = ()
    disks: tuple[str, ...] = ()
    if not identity_only:
        tpm, uuid, macs, disks = _hardware_details(blob, lay)
    built = _DecodedHashBuilder(
        serial,
        maker,
        model,
        uuid,
        pkid,
        macs,
        disks,
        tpm,
        checksum_ok,
        lay.unknown_types,
        total_len,
        nbytes,
        lay.has_tpm,
    )
    _retype(built, "__class__", DecodedHash)
    return cast(DecodedHash, built)


def _hardware_details(
    blob: bytes, lay: Layout
) -> tuple[str | None, str | None, tuple[str, ...], tuple[str, ...]]:
    """TPM version, SMBIOS UUID, MAC addresses and disk serials: what only warnings use."""
    sl = lay.tpm
    if sl is None:
        tpm = None
    elif blob.startswith(b"TPM-Version:2.0 ", sl.start):  # what every TPM 2.0 writes
        tpm = "2.0"
    else:
        tpm = _tpm_version(blob[sl].decode("utf-8", "replace").split("\0", 1)[0].strip())
    sl = lay.uuid
    uuid = None if sl is None else _guid(blob[sl])
    macs = tuple([blob[m].hex(":").upper() for m in lay.macs])
    disks: tuple[str, ...] = ()
    for sl in lay.disks:
        # "<serial>.|<model>|": keep the serial; a VM disk has none ("|Virtual Disk|Msft|").
        disk = blob[sl].decode("utf-8", "replace").split("|", 1)[0].split("\0", 1)[0].rstrip(". ")
        if disk:
            disks += (disk,)
    return tpm, uuid, macs, disks


def iter_records(text: str) -> list[RawRecord]:
    """Every record of a structurally valid hash, in order (for dumps; not the fast path)."""
    data = hash_to_bytes(text)
    decode_hash_bytes(data)  # raises on a bad structure, so the walk below is safe
    total_len = data[2] | data[3] << 8
    out: list[RawRecord] = []
    for o in walk(data, total_len):
        ln = data[o + 2] | data[o + 3] << 8
        out.append(RawRecord(o, data[o], ln, data[o + 4 : o + ln]))
    return out
