"""The layout cache must never change what the decoder returns or accepts."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from ztd.identity import hash_layout
from ztd.identity import records as rt
from ztd.identity.errors import HashDecodeError
from ztd.identity.hardware_hash import DecodedHash, decode_hash, hash_to_bytes
from ztd.identity.hash_builder import encode_records, record, text_record
from ztd.identity.synthetic import synthesize_hash


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    hash_layout.clear_cache()
    yield
    hash_layout.clear_cache()


def _cold(text: str) -> DecodedHash:
    hash_layout.clear_cache()
    return decode_hash(text)


def test_cached_and_uncached_decodes_agree() -> None:
    texts = [synthesize_hash(s) for s in range(300)]
    cold = [_cold(t) for t in texts]
    warm = [decode_hash(t) for t in texts for _ in range(3)][2::3]  # third sight: cached
    assert hash_layout.cached_layouts() > 0
    assert warm == cold


def test_a_layout_is_cached_from_the_second_sighting_of_its_total_len() -> None:
    text = synthesize_hash(1)
    decode_hash(text)
    assert hash_layout.cached_layouts() == 0  # one-off layouts never pay for compiling
    decode_hash(text)
    assert hash_layout.cached_layouts() == 1
    decode_hash(text)
    assert hash_layout.cached_layouts() == 1  # a hit adds nothing


def test_same_total_len_with_another_layout() -> None:
    # Two hashes with equal total_len whose records differ: a serial one byte longer and a
    # model one byte shorter.
    a = encode_records([text_record(rt.SMBIOS_SERIAL, "AB"), text_record(rt.PRODUCT_NAME, "XYZ")])
    b = encode_records([text_record(rt.SMBIOS_SERIAL, "ABC"), text_record(rt.PRODUCT_NAME, "XY")])
    for _ in range(3):
        assert decode_hash(a).serial == "AB" and decode_hash(a).model == "XYZ"
        assert decode_hash(b).serial == "ABC" and decode_hash(b).model == "XY"
    assert decode_hash(a).total_len == decode_hash(b).total_len


def test_a_broken_layout_is_caught_even_when_its_total_len_is_cached() -> None:
    text = synthesize_hash(2)
    for _ in range(3):
        decode_hash(text)
    data = bytearray(hash_to_bytes(text))
    data[4 + 2] = 2  # first record claims 2 bytes: shorter than its own header
    with pytest.raises(HashDecodeError, match="length 2"):
        decode_hash(base64.b64encode(bytes(data)).decode())


def test_type_changes_are_seen_by_the_cached_check() -> None:
    text = encode_records([text_record(rt.SMBIOS_SERIAL, "S1"), text_record(rt.PRODUCT_NAME, "M")])
    for _ in range(3):
        decode_hash(text)
    data = bytearray(hash_to_bytes(text))
    data[4] = rt.SYSTEM_MANUFACTURER  # same lengths, the serial record becomes manufacturer
    d = decode_hash(base64.b64encode(bytes(data)).decode())
    assert d.serial is None and d.manufacturer == "S1" and not d.checksum_ok


def test_cache_is_bounded() -> None:
    for n in range(700):
        text = encode_records([record(99, bytes(n))])
        decode_hash(text)
        decode_hash(text)
    assert 0 < hash_layout.cached_layouts() <= 512
