"""The decoder: real hashes, every structural error, tamper detection, fuzzing."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.real_devices import REAL_DEVICES, RealDevice, real_hash
from ztd.identity import analyze_device, synthesize_device
from ztd.identity import records as rt
from ztd.identity.hardware_hash import (
    MAX_HASH_CHARS,
    DecodedHash,
    HashDecodeError,
    decode_hash,
    decode_hash_bytes,
    hash_to_bytes,
    iter_records,
)
from ztd.identity.hash_builder import encode_records, frame_records, record, text_record
from ztd.identity.synthetic import synthesize_hash
from ztd.identity.validation import validate_hash
from ztd.server.api.device_input import parse_devices
from ztd.server.services.uploads import prepare_devices

GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _minimal(*extra: bytes) -> list[bytes]:
    return [
        text_record(rt.SMBIOS_SERIAL, "SER123"),
        text_record(rt.SYSTEM_MANUFACTURER, "Contoso"),
        *extra,
    ]


@pytest.mark.parametrize("dev", REAL_DEVICES, ids=lambda d: d.file)
def test_real_hashes_decode_to_the_readme_values(dev: RealDevice) -> None:
    text = real_hash(dev.file)
    d = decode_hash(text)
    assert (d.serial, d.manufacturer, d.model, d.pkid) == (
        dev.serial,
        dev.manufacturer,
        dev.model,
        dev.pkid,
    )
    assert d.checksum_ok
    assert d.byte_length == 3000 and len(text) == 4000
    assert d.smbios_uuid is not None and GUID.fullmatch(d.smbios_uuid)
    assert d.tpm_version == "2.0" and d.has_tpm_records


def test_real_hash_details() -> None:
    d = decode_hash(real_hash("hp-elitebook-840-g8.csv"))
    assert d.mac_addresses == ("44:E5:17:A6:2E:FC", "44:E5:17:A6:2E:F8")
    assert d.disk_serials == ("0000_0000_0000_0000_00E0_4C0E_07A7_F2BE",)
    assert d.total_len == 1159
    assert d.unknown_record_types == (35, 37)
    # SMBIOS byte order: the raw record starts e6 73 9e 8e, the GUID string 8E9E73E6.
    assert d.smbios_uuid == "8E9E73E6-EF91-4EF4-AA74-130C5E4B0DC4"
    # VMware encodes its UUID into the serial, which shows the swap direction is right.
    vm = decode_hash(real_hash("vmware-grouptag.csv"))
    assert vm.smbios_uuid is not None and vm.smbios_uuid.startswith("6E444D56")
    assert vm.serial is not None and vm.serial.endswith("6E444D56")


def test_decoded_hash_is_a_real_frozen_dataclass() -> None:
    d = decode_hash(synthesize_hash(1))
    assert type(d) is DecodedHash
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.serial = "x"  # type: ignore[misc]
    rebuilt = DecodedHash(**{f.name: getattr(d, f.name) for f in dataclasses.fields(d)})
    assert rebuilt == d and hash(rebuilt) == hash(d)


def test_whitespace_is_stripped_including_line_breaks() -> None:
    text = synthesize_hash(2)
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert decode_hash(f"  {wrapped}\r\n") == decode_hash(text)


def test_non_zero_padding_is_accepted_when_it_is_base64() -> None:
    data = frame_records(_minimal(), size=None) + b"\x01\x02\x03" * 10
    assert decode_hash(_b64(data)).serial == "SER123"


def test_no_padding_and_base64_padding_characters() -> None:
    for extra in range(3):  # 0, 1 and 2 '=' characters
        data = frame_records(_minimal(), size=None) + bytes(extra)
        d = decode_hash(_b64(data))
        assert d.byte_length == len(data) and d.checksum_ok


def _error(text: str) -> HashDecodeError:
    with pytest.raises(HashDecodeError) as info:
        decode_hash(text)
    assert isinstance(info.value, ValueError)
    return info.value


def test_not_base64() -> None:
    good = synthesize_hash(3)
    e = _error(good[:100] + "!" + good[101:])
    assert e.code == "not-base64" and "'!'" in str(e) and "position 101" in str(e)
    assert _error(good[:1001]).code == "not-base64"  # truncated inside the records
    assert _error("T0E=" + good[4:]).code == "not-base64"  # padding in the middle
    assert _error(good[:50] + "é" + good[51:]).code == "not-base64"
    assert _error("abc===").code == "not-base64"


def test_too_short_and_too_long() -> None:
    assert _error("").code == "too-short"
    assert _error("   ").code == "too-short"
    e = _error("DummyHash123")
    assert e.code == "too-short" and "9 bytes" in str(e)
    assert _error("A" * (MAX_HASH_CHARS + 4)).code == "too-long"


def test_bad_magic() -> None:
    data = bytearray(frame_records(_minimal()))
    data[0:2] = b"XY"
    e = _error(_b64(bytes(data)))
    assert e.code == "bad-magic" and "T0" in str(e)


def test_total_len_beyond_the_data() -> None:
    data = bytearray(frame_records(_minimal(), size=None))
    data[2:4] = (len(data) + 10).to_bytes(2, "little")
    e = _error(_b64(bytes(data)))
    assert e.code == "bad-record-layout" and "exceeds" in str(e)
    data[2:4] = (2).to_bytes(2, "little")
    assert _error(_b64(bytes(data))).code == "bad-record-layout"


def test_record_running_past_total_len() -> None:
    records = _minimal()
    data = bytearray(frame_records(records))
    # Make the last record 8 bytes longer than it is.
    last = 4 + sum(len(r) for r in records[:-1])
    data[last + 2] += 8
    e = _error(_b64(bytes(data)))
    assert e.code == "bad-record-layout"
    assert f"record at offset {last}" in str(e) and "runs past total_len" in str(e)


def test_record_shorter_than_its_header() -> None:
    data = bytearray(frame_records(_minimal()))
    data[4 + 2 : 4 + 4] = (3).to_bytes(2, "little")
    e = _error(_b64(bytes(data)))
    assert e.code == "bad-record-layout" and "length 3" in str(e) and "offset 4" in str(e)
    data[4 + 2 : 4 + 4] = (0).to_bytes(2, "little")  # would loop forever if unchecked
    assert _error(_b64(bytes(data))).code == "bad-record-layout"


def test_missing_or_bad_trailer() -> None:
    data = bytearray(frame_records(_minimal()))
    total_len = int.from_bytes(data[2:4], "little")
    data[total_len : total_len + 2] = b"XX"
    e = _error(_b64(bytes(data)))
    assert e.code == "bad-trailer" and f"offset {total_len}" in str(e)
    data[total_len : total_len + 4] = b"CS\x20\x00"  # wrong trailer length
    assert _error(_b64(bytes(data))).code == "bad-trailer"
    # A blob that stops right after the records has no trailer at all.
    body = b"".join(_minimal())
    bare = b"OA" + (4 + len(body)).to_bytes(2, "little") + body + bytes(20)
    e = _error(_b64(bare))
    assert e.code == "bad-trailer" and "no room" in str(e)


def test_checksum_mismatch_is_reported_not_raised() -> None:
    text = encode_records(_minimal(), checksum=bytes(32))
    d = decode_hash(text)
    assert not d.checksum_ok and d.serial == "SER123"


def test_absent_records_give_none_and_empty() -> None:
    d = decode_hash(encode_records([record(rt.DISPLAY, bytes(12))]))
    assert d.serial is d.manufacturer is d.model is d.pkid is d.smbios_uuid is None
    assert d.mac_addresses == d.disk_serials == ()
    assert d.tpm_version is None and not d.has_tpm_records
    empty = decode_hash(encode_records([]))
    assert empty.total_len == 4 and empty.checksum_ok


def test_unknown_types_and_nul_terminated_text() -> None:
    d = decode_hash(
        encode_records(
            [
                record(99, b"x"),
                record(37, b""),
                record(99, b"y"),
                record(rt.SMBIOS_SERIAL, b"  ABC \x00garbage\x00"),
            ]
        )
    )
    assert d.unknown_record_types == (37, 99)
    assert d.serial == "ABC"


def test_decode_hash_bytes_and_iter_records_agree() -> None:
    text = synthesize_hash(4)
    data = hash_to_bytes(text)
    assert decode_hash_bytes(data) == decode_hash(text)
    recs = iter_records(text)
    assert recs[0].offset == 4
    for a, b in itertools.pairwise(recs):
        assert a.offset + a.length == b.offset
    assert recs[-1].offset + recs[-1].length == decode_hash(text).total_len
    with pytest.raises(HashDecodeError):
        decode_hash_bytes(b"OA")


def _flip_positions(text: str) -> tuple[bytes, range]:
    data = hash_to_bytes(text)
    total_len = int.from_bytes(data[2:4], "little")
    return data, range(total_len + rt.TRAILER_LEN)


@pytest.mark.parametrize("source", ["synthetic", "real"])
def test_every_single_byte_flip_is_detected(source: str) -> None:
    text = synthesize_hash(5) if source == "synthetic" else real_hash("lenovo-21r3.csv")
    assert validate_hash(text).ok
    data, positions = _flip_positions(text)
    missed = []
    for pos in positions:
        for mask in (0x01, 0xFF):
            tampered = bytearray(data)
            tampered[pos] ^= mask
            if validate_hash(_b64(bytes(tampered))).ok:
                missed.append((pos, mask))
    assert missed == []


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_fuzz_text_raises_only_hash_decode_error(text: str) -> None:
    with contextlib.suppress(HashDecodeError):
        decode_hash(text)


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_fuzz_structured_bytes(blob: bytes) -> None:
    # Start with the magic so the fuzzer gets past the first check and into the record walk.
    for candidate in (blob, b"OA" + blob, b"OA" + len(blob).to_bytes(2, "little") + blob):
        try:
            d = decode_hash(_b64(candidate))
        except HashDecodeError:
            continue
        assert d.total_len <= len(candidate)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_fuzz_mutated_valid_hash(data: st.DataObject) -> None:
    text = synthesize_hash(data.draw(st.integers(0, 50)))
    raw = bytearray(hash_to_bytes(text))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, 1300))
        raw[pos] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HashDecodeError):
        decode_hash(_b64(bytes(raw)))


# A hash without zero padding whose last quad was "mg==", changed to "mg=A".
EQUALS_INSIDE = "T0ETAA4ACABTTlgAEAAHAEhQAENTJABaAd4RqD1eM0Um6g1K7vKynm/3Mq+LJYfhmWPtYXW8mg=A"


def test_padding_inside_a_short_hash_is_802_not_an_exception() -> None:
    with pytest.raises(HashDecodeError, match="before the end"):
        decode_hash(EQUALS_INSIDE)
    identity = analyze_device(
        serial_number=None,
        product_key=None,
        hardware_hash=EQUALS_INSIDE,
        manufacturer=None,
        model=None,
    )
    assert identity.error is not None and identity.error.code == "802"
    [item] = prepare_devices(parse_devices([{"hardwareHash": EQUALS_INSIDE}]))
    assert item.precheck_code == "802"


def test_padding_before_the_zero_run_is_refused() -> None:
    raw = base64.b64decode(synthesize_device(9).hardware_hash)
    total_len = raw[2] | raw[3] << 8
    used = raw[: total_len + 36]
    if len(used) % 3 == 0:  # make the used part need padding of its own
        used = raw[: total_len + 37]
    text = base64.b64encode(used).decode()
    assert text.endswith("=")
    forged = text + "A" * (4000 - len(text))
    with pytest.raises(HashDecodeError, match="before the end"):
        decode_hash(forged)
