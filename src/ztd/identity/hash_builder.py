"""Assemble a hardware hash from records: the inverse of the decoder's framing.

Used by the synthesizer, and by tests that need hashes with specific defects (no serial, a
wrong checksum, odd padding) without hand-writing base64.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from ztd.identity import records as rt

__all__ = ["encode_records", "frame_records", "record", "text_record"]


def record(record_type: int, payload: bytes) -> bytes:
    """One record: uint8 type, uint8 0, uint16 LE length including this 4-byte header."""
    length = len(payload) + rt.RECORD_HEADER_LEN
    if not 0 <= record_type <= 0xFF or length > 0xFFFF:
        raise ValueError(f"record type {record_type} / length {length} out of range")
    return bytes((record_type, 0)) + length.to_bytes(2, "little") + payload


def text_record(record_type: int, text: str) -> bytes:
    """A NUL-terminated UTF-8 text record, the way OA3 writes SMBIOS strings."""
    return record(record_type, text.encode("utf-8") + b"\0")


def frame_records(
    records: Iterable[bytes],
    *,
    size: int | None = rt.STANDARD_BYTES,
    checksum: bytes | None = None,
) -> bytes:
    """Header + records + CS trailer (SHA-256 unless ``checksum`` overrides) + zero padding.

    ``size`` pads with zeros to that many bytes (3000 like Get-WindowsAutopilotInfo); None, or
    a size smaller than the content, means no padding.
    """
    body = b"".join(records)
    total_len = rt.HEADER_LEN + len(body)
    if total_len > 0xFFFF:
        raise ValueError(f"records take {total_len} bytes; total_len is a uint16")
    data = rt.MAGIC + total_len.to_bytes(2, "little") + body
    digest = hashlib.sha256(data).digest() if checksum is None else checksum
    data += rt.TRAILER_HEADER + digest
    if size is not None and size > len(data):
        data += bytes(size - len(data))
    return data


def encode_records(
    records: Iterable[bytes],
    *,
    size: int | None = rt.STANDARD_BYTES,
    checksum: bytes | None = None,
) -> str:
    """frame_records, base64-encoded: the text that goes into a CSV or API call."""
    return base64.b64encode(frame_records(records, size=size, checksum=checksum)).decode("ascii")
