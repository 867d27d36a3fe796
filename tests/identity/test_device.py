"""analyze_device: the six identifier combinations, 802 and 803, and the identity key."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from tests.support.real_devices import real_hash
from ztd.identity import DeviceIdentity, analyze_device, dds, hardware_key
from ztd.identity.hardware_hash import hash_to_bytes
from ztd.identity.synthetic import (
    machine_profile,
    read_machine,
    regenerate_hash,
    synthesize_device,
    synthesize_hash,
)

DEV = synthesize_device(21)
PKID = "3305404496774"
LICENSE_KEY = "VK7JG-NPHTM-C97JM-9MPGT-3V66T"


def analyze(
    serial: str | None = None,
    pk: str | None = None,
    hw: str | None = None,
    maker: str | None = None,
    model: str | None = None,
) -> DeviceIdentity:
    return analyze_device(
        serial_number=serial, product_key=pk, hardware_hash=hw, manufacturer=maker, model=model
    )


def _corrupt(text: str) -> str:
    data = bytearray(hash_to_bytes(text))
    data[100] ^= 0x40  # inside the records: the checksum no longer matches
    return base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hw": DEV.hardware_hash, "pk": PKID},  # 1. hash + product key
        {"hw": DEV.hardware_hash, "serial": DEV.serial},  # 2. hash + serial
        {"hw": DEV.hardware_hash, "pk": PKID, "serial": DEV.serial},  # 3.
        {"hw": DEV.hardware_hash},  # 4. hash only
        {"pk": PKID},  # 5. product key only
        {"serial": DEV.serial, "maker": DEV.manufacturer, "model": DEV.model},  # 6. tuple
        # Extra fields on top of a combination are fine.
        {"pk": PKID, "serial": DEV.serial, "maker": DEV.manufacturer, "model": DEV.model},
        {"hw": DEV.hardware_hash, "maker": DEV.manufacturer, "model": DEV.model},
    ],
)
def test_accepted_combinations(kwargs: dict[str, str]) -> None:
    ident = analyze(**kwargs)
    assert ident.error is None and ident.detail is None
    if "hw" in kwargs or "maker" in kwargs:
        assert ident.hardware_key == hardware_key(DEV.manufacturer, DEV.serial)
        assert (ident.serial_number, ident.manufacturer, ident.model) == (
            DEV.serial,
            DEV.manufacturer,
            DEV.model,
        )
    else:
        assert ident.hardware_key is None and ident.pkid == PKID


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, "no hardware hash"),
        ({"serial": "   ", "pk": "", "hw": "\t"}, "no hardware hash"),
        ({"serial": "ABC"}, "missing: manufacturer, model"),
        ({"serial": "ABC", "maker": "HP"}, "missing: model"),
        ({"maker": "HP", "model": "X"}, "missing: serial number"),
        ({"pk": LICENSE_KEY}, "license key"),
        ({"pk": LICENSE_KEY, "serial": "ABC"}, "license key"),
    ],
)
def test_803_without_a_combination(kwargs: dict[str, str], reason: str) -> None:
    ident = analyze(**kwargs)
    assert ident.error == dds.MISSING_SERIAL_AND_PRODUCT_KEY
    assert ident.detail is not None and reason in ident.detail
    assert ident.hardware_key is None and ident.pkid is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hw": "DummyHash123"},
        {"hw": "DummyHash123", "pk": PKID, "serial": "S", "maker": "M", "model": "X"},
        {"hw": _corrupt(DEV.hardware_hash), "pk": PKID},
    ],
)
def test_a_present_hash_is_always_checked(kwargs: dict[str, str]) -> None:
    ident = analyze(**kwargs)
    assert ident.error == dds.INVALID_HARDWARE_HASH
    assert ident.hardware_key is None and ident.detail


def test_802_detail_is_the_precise_reason() -> None:
    assert "9 bytes" in (analyze(hw="DummyHash123").detail or "")
    assert "SHA-256" in (analyze(hw=_corrupt(DEV.hardware_hash)).detail or "")


def test_regenerated_hash_has_the_same_key_but_another_string() -> None:
    again = regenerate_hash(21)
    a, b = analyze(hw=DEV.hardware_hash), analyze(hw=again)
    assert again != DEV.hardware_hash
    assert a.hardware_key == b.hardware_key is not None


def test_identity_comes_from_inside_the_hash() -> None:
    ident = analyze(hw=DEV.hardware_hash, serial="OTHER", maker="Other", model="Y")
    assert ident.error is None
    assert ident.hardware_key == hardware_key(DEV.manufacturer, DEV.serial)
    assert ident.serial_number == DEV.serial
    codes = {w.code for w in ident.warnings}
    assert {"serial-mismatch", "manufacturer-mismatch", "model-mismatch"} <= codes
    assert ident.hardware_key is not None and DEV.hardware_hash not in ident.hardware_key
    assert len(ident.hardware_key) < 200


def test_hardware_key_is_casefolded_and_stripped() -> None:
    a = analyze(serial=" abc ", maker="LENOVO", model="M")
    b = analyze(serial="ABC", maker="lenovo ", model="M")
    assert a.hardware_key == b.hardware_key == "lenovo\x1fabc"


def test_pkid_from_column_or_hash() -> None:
    hp = real_hash("hp-elitebook-840-g8.csv")
    assert analyze(hw=hp).pkid == "3305404496774"
    assert analyze(hw=hp, pk=" 3305404496774 ").pkid == "3305404496774"
    other = analyze(hw=hp, pk="1111111111111")
    assert other.pkid == "1111111111111"
    assert "pkid-mismatch" in {w.code for w in other.warnings}
    assert analyze(hw=real_hash("hyperv-vm.csv")).pkid is None


def test_refused_license_key_next_to_another_identifier_is_dropped_with_a_warning() -> None:
    ident = analyze(hw=DEV.hardware_hash, pk=LICENSE_KEY)
    assert ident.error is None and ident.pkid == DEV.pkid
    assert "license-key" in {w.code for w in ident.warnings}
    tup = analyze(pk=LICENSE_KEY, serial="S", maker="M", model="X")
    assert tup.error is None and tup.pkid is None


def test_pid_is_kept_and_warned() -> None:
    ident = analyze(pk=" 00329-00000-0003-AA606 ")
    assert ident.error is None and ident.pkid == "00329-00000-0003-AA606"
    assert [w.code for w in ident.warnings] == ["pid-not-pkid"]


def test_partial_tuple_next_to_a_product_key_is_warned() -> None:
    ident = analyze(pk=PKID, serial="S")
    assert ident.error is None and ident.hardware_key is None
    assert "incomplete-tuple" in {w.code for w in ident.warnings}


def test_outputs_fit_the_registry_columns() -> None:
    # Column values no SMBIOS string looks like are ignored, so they cannot form a tuple.
    long_tuple = analyze(serial="S" * 300, maker="M", model="X")
    assert long_tuple.error == dds.MISSING_SERIAL_AND_PRODUCT_KEY
    assert "serial-number-too-long" in {w.code for w in long_tuple.warnings}
    ctrl = analyze(serial="A\x00B", maker="M", model="X", pk=PKID)
    assert ctrl.error is None and ctrl.hardware_key is None and ctrl.serial_number is None
    # casefold() can grow a string ("ß" -> "ss"): the key bound still holds.
    wide = synthesize_hash(3, serial="ß" * 200, manufacturer="ß" * 200)
    ident = analyze(hw=wide)
    assert ident.error == dds.INVALID_HARDWARE_HASH and "identity key" in (ident.detail or "")
    fits = analyze(hw=synthesize_hash(3, serial="ß" * 100, manufacturer="ß" * 100))
    assert fits.error is None and fits.hardware_key is not None
    assert len(fits.hardware_key) <= 520
    assert analyze(pk="9" * 80).error == dds.MISSING_SERIAL_AND_PRODUCT_KEY


def test_hash_pkid_must_be_13_digits_to_be_used() -> None:
    ident = analyze(hw=synthesize_hash(3, pkid="X" * 100))
    assert ident.error is None and ident.pkid is None
    assert "unusual-hash-pkid" in {w.code for w in ident.warnings}


def test_tuple_too_long_for_a_key_is_803_with_the_reason() -> None:
    ident = analyze(serial="ßx" * 100, maker="ß" * 200, model="X")
    assert ident.error == dds.MISSING_SERIAL_AND_PRODUCT_KEY
    assert "too long to form an identity key" in (ident.detail or "")


@pytest.mark.parametrize("uuid", [bytes(16), b"\xff" * 16])
def test_placeholder_serial_and_uuid_tell_machines_apart_by_the_first_mac(uuid: bytes) -> None:
    # A white box whose firmware left both the serial and the UUID as filler: only the MAC
    # is left to tell it from the next one (issue 13, placeholder serials).
    def machine(seed: int, generation: int = 0) -> str:
        profile = replace(machine_profile(seed), serial="Default string", uuid=uuid)
        return read_machine(profile, generation=generation)

    first, other, again = (
        analyze(hw=machine(61)),
        analyze(hw=machine(62)),
        analyze(hw=machine(61, generation=1)),
    )
    assert first.error is None and first.hardware_key is not None
    plain = hardware_key(first.manufacturer or "", "Default string")
    assert first.hardware_key != plain  # not merged with every other "Default string" box
    assert first.hardware_key != other.hardware_key
    assert first.hardware_key == again.hardware_key  # the same machine read again
    mac = machine_profile(61).macs[0].hex(":")
    assert first.hardware_key == plain + "\x1f" + mac  # the first MAC, as the key's last part
