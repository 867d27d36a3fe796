"""Identity rules fixed after a review: malformed base64 is always an 802 (never an
exception that fails a whole upload), "=" cannot hide before the zero padding, only ASCII
digits make a PKID, and a product key that is not a PKID does not make hashed devices one
and the same."""

from __future__ import annotations

import base64

import pytest

from ztd.identity import analyze_device, synthesize_device
from ztd.identity.errors import HashDecodeError
from ztd.identity.hardware_hash import decode_hash
from ztd.identity.product_key import check_product_key, is_pkid
from ztd.server.api.device_input import parse_devices
from ztd.server.services.uploads import prepare_devices

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


def test_only_ascii_digits_make_a_pkid() -> None:
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in "1234567890123")
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in "1234567890123")
    for lookalike in (fullwidth, arabic_indic):
        assert not is_pkid(lookalike)
        assert check_product_key(lookalike).warnings  # kept as given, with a warning
    assert is_pkid("1234567890123")


def test_a_shared_product_id_does_not_make_hashed_devices_duplicates() -> None:
    wire = [
        {"hardwareHash": synthesize_device(seed).hardware_hash, "productKey": shared}
        for seed in (11, 12, 13)
        for shared in ("00329-00000-0003-AA606",)
    ] + [{"hardwareHash": synthesize_device(14).hardware_hash, "productKey": "N/A"}]
    items = prepare_devices(parse_devices(wire))
    assert [item.precheck_name for item in items] == [None] * 4
    # Each is known by the PKID inside its own hash, not by the column.
    assert len({item.pkid_key for item in items}) == 4


def test_control_characters_and_spaced_licence_keys_are_not_product_keys() -> None:
    machine = synthesize_device(15)
    [first] = prepare_devices(parse_devices([{"hardwareHash": machine.hardware_hash}]))
    assert first.hardware_key and "\x1f" in first.hardware_key
    # A hardware key sent as a product key (control characters) is not kept as one.
    assert check_product_key(first.hardware_key).key is None
    spaced = "VK7JG NPHTM C97JM 9MPGT 3V66T"  # a licence key is a secret, however spaced
    check = check_product_key(spaced)
    assert check.key is None and check.error is not None and check.error.code == "license-key"
    assert spaced not in check.error.message


def test_one_machine_spelled_in_nfc_or_nfd_has_one_key() -> None:
    from ztd.identity.device import hardware_key

    assert hardware_key("Acme\u0301", "SN1") == hardware_key("Acm\u00e9", "sn1")


def test_white_box_pcs_with_a_placeholder_serial_are_told_apart_by_their_uuid() -> None:
    from dataclasses import replace

    from ztd.identity.synthetic import machine_profile, read_machine

    boards = [
        replace(
            machine_profile(seed),
            manufacturer="To Be Filled By O.E.M.",
            serial="Default string",
            pkid=None,
        )
        for seed in (21, 22, 23)
    ]
    hashes = [read_machine(board) for board in boards]
    items = prepare_devices(parse_devices([{"hardwareHash": h} for h in hashes]))
    assert [item.precheck_name for item in items] == [None, None, None]
    assert len({item.hardware_key for item in items}) == 3
    # The same board read again (a later generation of its hash) is the same device.
    again = read_machine(boards[0], generation=1)
    assert again != hashes[0]
    [reread] = prepare_devices(parse_devices([{"hardwareHash": again}]))
    assert reread.hardware_key == items[0].hardware_key
