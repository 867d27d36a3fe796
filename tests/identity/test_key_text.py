"""Identity keys see through look-alike spellings (issue 20 finding 3) and placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.lookalikes import lookalikes
from ztd.identity import analyze_device, hardware_key
from ztd.identity.key_text import fold, unusual_characters
from ztd.identity.placeholders import is_placeholder_serial, is_placeholder_uuid
from ztd.identity.synthetic import synthesize_hash

SERIAL = "XT12345678"
MAKER = "LENOVO"


@pytest.mark.parametrize(("kind", "variant"), lookalikes(SERIAL).items())
def test_serial_lookalikes_fold_to_the_serial(kind: str, variant: str) -> None:
    assert variant != SERIAL
    assert fold(variant) == fold(SERIAL), kind
    assert hardware_key(MAKER, variant) == hardware_key(MAKER, SERIAL)


@pytest.mark.parametrize(("kind", "variant"), lookalikes(MAKER).items())
def test_manufacturer_lookalikes_fold_to_the_manufacturer(kind: str, variant: str) -> None:
    assert variant != MAKER
    assert hardware_key(variant, SERIAL) == hardware_key(MAKER, SERIAL), kind


@pytest.mark.parametrize(("kind", "variant"), lookalikes(SERIAL).items())
def test_a_lookalike_hash_or_tuple_is_the_same_device(kind: str, variant: str) -> None:
    original = analyze_device(
        serial_number=None,
        product_key=None,
        hardware_hash=synthesize_hash(5, serial=SERIAL, manufacturer=MAKER),
        manufacturer=None,
        model=None,
    )
    by_hash = analyze_device(
        serial_number=None,
        product_key=None,
        hardware_hash=synthesize_hash(6, serial=variant, manufacturer=lookalikes(MAKER)[kind]),
        manufacturer=None,
        model=None,
    )
    by_tuple = analyze_device(
        serial_number=variant, product_key=None, hardware_hash=None, manufacturer=MAKER, model="M"
    )
    assert original.hardware_key is not None
    assert by_hash.error is None and by_tuple.error is None
    assert by_hash.hardware_key == original.hardware_key == by_tuple.hardware_key, kind


def test_ascii_is_never_remapped() -> None:
    # TR39 puts 0/O and 1/l/I in one class; printed serials use both, so ASCII stays as it is.
    keys = {fold(s) for s in ("AB0C1", "ABOC1", "AB0Cl", "AB0CI", "AB0C|")}
    assert len(keys) == 5
    assert fold("  Ab-12 ") == "ab-12"


def test_plain_ascii_takes_the_fast_path() -> None:
    # A non-ASCII string is folded once and cached; ASCII never reaches that code.
    from ztd.identity import key_text

    before = key_text._fold_unicode.cache_info().misses
    fold("PLAIN-ASCII-SERIAL-0001")
    assert key_text._fold_unicode.cache_info().misses == before


@given(st.text(max_size=24))
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


def test_unusual_characters_are_named() -> None:
    assert unusual_characters("X\u0422" + "12\u200b3") == [
        "U+0422 CYRILLIC CAPITAL LETTER TE (looks like 'T')",
        "U+200B ZERO WIDTH SPACE (invisible)",
    ]
    assert unusual_characters(SERIAL) == []


@pytest.mark.parametrize("field", ["serial", "manufacturer"])
def test_non_ascii_values_are_warned_about_with_the_character(field: str) -> None:
    serial = "X\u042212345678" if field == "serial" else SERIAL
    maker = "L\u0415NOVO" if field == "manufacturer" else MAKER
    tuple_device = analyze_device(
        serial_number=serial, product_key=None, hardware_hash=None, manufacturer=maker, model="M"
    )
    hashed = analyze_device(
        serial_number=None,
        product_key=None,
        hardware_hash=synthesize_hash(7, serial=serial, manufacturer=maker),
        manufacturer=None,
        model=None,
    )
    letter = "TE" if field == "serial" else "IE"
    for ident in (tuple_device, hashed):
        [warning] = [w for w in ident.warnings if w.code.startswith("non-ascii")]
        assert warning.code == f"non-ascii-{field}"
        assert f"CYRILLIC CAPITAL LETTER {letter}" in warning.message
        assert f"U+04{'22' if field == 'serial' else '15'}" in warning.message


@pytest.mark.parametrize(
    "serial",
    [
        "Default string",
        "DEFAULT STRING",
        "  default   string ",
        "To Be Filled By O.E.M.",
        "to be filled by o.e.m",
        "System Serial Number",
        "Chassis Serial Number",
        "SMBIOS_STRING_INDEX_0",
        "smbios_string_index_12",
        "Not Specified",
        "None",
        "N/A",
        "Default",
        "OEM",
        "0",
        "0123456789",
        "123456789",
        "00000000",
        "0000-0000-0000",
        "XXXXXXXX",
        "FFFFFFFFFFFF",
        "\u200b",
        "\uff24\uff45\uff46\uff41\uff55\uff4c\uff54 string",  # fullwidth "Default"
    ],
)
def test_placeholder_catalogue(serial: str) -> None:
    assert is_placeholder_serial(serial)


@pytest.mark.parametrize("serial", ["XT12345678", "PF5MT6SC", "0A", "VMware-56 4d 12", "N/A-7"])
def test_real_serials_are_not_placeholders(serial: str) -> None:
    assert not is_placeholder_serial(serial)


def test_placeholder_uuids() -> None:
    assert is_placeholder_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff")
    assert is_placeholder_uuid("03000200-0400-0500-0006-000700080009")
    assert not is_placeholder_uuid("4C4C4544-0037-4810-8051-B4C04F4E5931")


def test_hash_decode_and_csv_check_warn(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ztd.cli.main import app

    vm = synthesize_hash(8, serial="SMBIOS_STRING_INDEX_0", manufacturer="QEMU")
    decoded = CliRunner().invoke(app, ["hash", "decode", vm, "--json"])
    assert decoded.exit_code == 0, decoded.output
    [warning] = [
        w for w in json.loads(decoded.stdout)["warnings"] if w["code"] == "placeholder-serial"
    ]
    assert "SMBIOS_STRING_INDEX_0" in warning["message"] and "recapture" in warning["message"]

    csv = tmp_path / "d.csv"
    csv.write_text(
        "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model\n"
        "X\u042212345678,,,LENOVO,M\n",
        encoding="utf-8",
    )
    checked = CliRunner().invoke(app, ["csv", "check", str(csv), "--json"])
    found = [
        d for d in json.loads(checked.stdout)["diagnostics"] if d["code"] == "non-ascii-serial"
    ]
    assert [d["line"] for d in found] == [2]
    assert "U+0422 CYRILLIC CAPITAL LETTER TE" in found[0]["message"]


@pytest.mark.parametrize("serial", ["Default string", "SMBIOS_STRING_INDEX_0", "0000000"])
def test_a_tuple_with_a_placeholder_serial_identifies_nothing(serial: str) -> None:
    alone = analyze_device(
        serial_number=serial, product_key=None, hardware_hash=None, manufacturer="QEMU", model="M"
    )
    assert alone.error is not None and alone.error.code == "803"
    assert "firmware placeholder" in (alone.detail or "") and "hardware hash" in (
        alone.detail or ""
    )
    with_pkid = analyze_device(
        serial_number=serial,
        product_key="3305404496774",
        hardware_hash=None,
        manufacturer="QEMU",
        model="M",
    )
    assert with_pkid.error is None and with_pkid.hardware_key is None
    assert [w.code for w in with_pkid.warnings] == ["placeholder-serial"]


def test_one_machine_spelled_in_nfc_or_nfd_has_one_key() -> None:
    from ztd.identity.device import hardware_key

    assert hardware_key("Acme\u0301", "SN1") == hardware_key("Acm\u00e9", "sn1")
