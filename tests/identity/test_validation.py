"""validate_hash: which findings are errors (802) and which are warnings."""

from __future__ import annotations

import pytest

from tests.support.real_devices import REAL_DEVICES, RealDevice, real_hash
from ztd.identity import records as rt
from ztd.identity.hash_builder import encode_records, record, text_record
from ztd.identity.synthetic import synthesize_hash
from ztd.identity.validation import is_placeholder_serial, validate_hash

UUID_BYTES = bytes(range(1, 17))
MAC = record(rt.NETWORK_ADAPTER, bytes(4) + bytes.fromhex("3CA9F4000001") + bytes(4))


def _hash(serial: str | None = "SER123", manufacturer: str | None = "Contoso", **kw: object) -> str:
    records = [
        record(rt.DISK_SERIAL, b"ABCD_EF01.|Disk|"),
        MAC,
        text_record(rt.TPM_VERSION, "TPM-Version:2.0 -Level:0"),
        record(rt.SMBIOS_UUID, UUID_BYTES),
        text_record(rt.PRODUCT_NAME, "Model 1"),
    ]
    if serial is not None:
        records.append(text_record(rt.SMBIOS_SERIAL, serial))
    if manufacturer is not None:
        records.append(text_record(rt.SYSTEM_MANUFACTURER, manufacturer))
    return encode_records(records, **kw)  # type: ignore[arg-type]


def _codes(diags: tuple[object, ...]) -> set[str]:
    return {d.code for d in diags}  # type: ignore[attr-defined]


def test_clean_hash_has_no_findings() -> None:
    check = validate_hash(_hash())
    assert check.ok and check.errors == () and check.warnings == ()
    assert check.decoded is not None and check.decoded.serial == "SER123"


@pytest.mark.parametrize("dev", REAL_DEVICES, ids=lambda d: d.file)
def test_real_hashes_have_no_errors(dev: RealDevice) -> None:
    check = validate_hash(
        real_hash(dev.file),
        serial_number=dev.serial,
        manufacturer=dev.manufacturer,
        model=dev.model,
    )
    assert check.errors == ()
    assert not any(w.code.endswith("-mismatch") for w in check.warnings)


def test_structure_errors_become_diagnostics() -> None:
    check = validate_hash("DummyHash123")
    assert check.decoded is None and _codes(check.errors) == {"too-short"}
    assert "9 bytes" in check.errors[0].message


def test_checksum_mismatch_is_an_error() -> None:
    check = validate_hash(_hash(checksum=bytes(32)))
    assert check.decoded is not None
    assert _codes(check.errors) == {"checksum-mismatch"}


@pytest.mark.parametrize(
    ("serial", "manufacturer", "codes"),
    [
        (None, "Contoso", {"missing-serial"}),
        ("", "Contoso", {"missing-serial"}),
        ("   ", "Contoso", {"missing-serial"}),
        ("SER123", None, {"missing-manufacturer"}),
        ("SER123", "", {"missing-manufacturer"}),
        (None, None, {"missing-serial", "missing-manufacturer"}),
    ],
)
def test_missing_serial_or_manufacturer_is_an_error(
    serial: str | None, manufacturer: str | None, codes: set[str]
) -> None:
    assert _codes(validate_hash(_hash(serial, manufacturer)).errors) == codes


def test_placeholder_serial_warning() -> None:
    check = validate_hash(_hash("To be filled by O.E.M."))
    assert check.ok and "placeholder-serial" in _codes(check.warnings)
    assert is_placeholder_serial("Default string") and is_placeholder_serial("00000000")
    assert not is_placeholder_serial("5CG1457YL8") and not is_placeholder_serial("0A")


def test_missing_optional_records_are_warnings() -> None:
    bare = encode_records(
        [text_record(rt.SMBIOS_SERIAL, "S1"), text_record(rt.SYSTEM_MANUFACTURER, "M")]
    )
    check = validate_hash(bare)
    assert check.ok
    assert _codes(check.warnings) == {
        "missing-uuid",
        "missing-model",
        "missing-mac",
        "missing-disk-serial",
        "no-tpm",
    }


def test_placeholder_uuid() -> None:
    text = encode_records(
        [
            text_record(rt.SMBIOS_SERIAL, "S1"),
            text_record(rt.SYSTEM_MANUFACTURER, "M"),
            record(rt.SMBIOS_UUID, bytes(16)),
        ]
    )
    assert "placeholder-uuid" in _codes(validate_hash(text).warnings)


def test_unusual_length_is_a_warning() -> None:
    check = validate_hash(_hash(size=None))
    assert check.ok and _codes(check.warnings) == {"unusual-length"}
    assert check.decoded is not None and str(check.decoded.byte_length) in check.warnings[0].message


def test_column_mismatches() -> None:
    text = synthesize_hash(1, serial="ABC123", manufacturer="LENOVO", model="21R3001BUK")
    check = validate_hash(text, serial_number="abc123", manufacturer="Lenovo", model="Other")
    assert check.ok
    by_code = {w.code: w.message for w in check.warnings}
    assert "only in letter case" in by_code["serial-mismatch"]
    assert "only in letter case" in by_code["manufacturer-mismatch"]
    assert "letter case" not in by_code["model-mismatch"]
    assert "'Other'" in by_code["model-mismatch"]
    same = validate_hash(text, serial_number=" ABC123 ", manufacturer="LENOVO", model="")
    assert not any(w.code.endswith("-mismatch") for w in same.warnings)


def test_overlong_and_control_character_identifiers_are_errors() -> None:
    long_serial = validate_hash(_hash("S" * 257))
    assert _codes(long_serial.errors) == {"serial-too-long"}
    assert validate_hash(_hash("S" * 256)).ok
    assert _codes(validate_hash(_hash("SER", "M" * 300)).errors) == {"manufacturer-too-long"}
    assert _codes(validate_hash(_hash("SER\x1f1")).errors) == {"control-characters"}
    assert validate_hash(_hash("SER\u00a01")).ok  # a no-break space is odd but not control


IDENTITY_FIELDS = ("serial", "manufacturer", "model", "pkid", "checksum_ok", "total_len")


@pytest.mark.parametrize(
    "text",
    [
        _hash(),
        _hash(serial=None),
        _hash(serial="SER\x01"),
        _hash(manufacturer=" "),
        synthesize_hash(8),
        synthesize_hash(9)[:-8] + "AAAAAAAA",
        synthesize_hash(10)[:60] + "B" + synthesize_hash(10)[61:],  # checksum mismatch
        "not a hash",
    ],
)
def test_without_warnings_the_errors_and_identity_are_the_same(text: str) -> None:
    full = validate_hash(text, serial_number="X", manufacturer="Y", model="Z")
    lean = validate_hash(text, serial_number="X", manufacturer="Y", model="Z", with_warnings=False)
    assert lean.errors == full.errors and lean.warnings == ()
    if full.decoded is None:
        assert lean.decoded is None
        return
    assert lean.decoded is not None
    for field in IDENTITY_FIELDS:
        assert getattr(lean.decoded, field) == getattr(full.decoded, field), field
    # The warning-only fields are skipped, not guessed.
    assert (lean.decoded.smbios_uuid, lean.decoded.mac_addresses) == (None, ())


@pytest.mark.parametrize("dev", REAL_DEVICES, ids=lambda d: d.file)
def test_real_hashes_decode_to_the_same_identity_without_warnings(dev: RealDevice) -> None:
    full = validate_hash(real_hash(dev.file))
    lean = validate_hash(real_hash(dev.file), with_warnings=False)
    assert lean.ok and full.ok
    assert lean.decoded is not None and full.decoded is not None
    for field in IDENTITY_FIELDS:
        assert getattr(lean.decoded, field) == getattr(full.decoded, field), field
