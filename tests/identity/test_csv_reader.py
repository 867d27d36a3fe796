"""The CSV reader: every format and encoding, exact physical line numbers, fuzzing."""

from __future__ import annotations

import codecs
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.real_devices import REAL_DEVICES, RealDevice, real_bytes
from ztd.identity.csv_reader import (
    CsvFormatError,
    CsvResult,
    check_devices,
    read_devices,
)
from ztd.identity.synthetic import regenerate_hash, synthesize_device

D1, D2, D3 = synthesize_device(101), synthesize_device(102), synthesize_device(107)
VM = synthesize_device(103)  # a Hyper-V VM: no PKID, no disk serial
INTUNE = "Device Serial Number,Windows Product ID,Hardware Hash"


def _lines(*lines: str, eol: str = "\r\n") -> str:
    return eol.join(lines) + eol


def _diags(result: CsvResult) -> list[tuple[int, str, str]]:
    return [(d.line, d.severity, d.code) for d in result.diagnostics]


@pytest.mark.parametrize("dev", REAL_DEVICES, ids=lambda d: d.file)
def test_real_fixtures(dev: RealDevice) -> None:
    result = read_devices(real_bytes(dev.file), source=dev.file)
    assert result.encoding == "UTF-16 LE (BOM)"
    assert not check_devices(result) and result.errors == []
    [device] = result.devices
    assert device.line == 2 and device.serial_number == dev.serial
    assert device.product_key is None and device.hardware_hash is not None
    ident = device.identity
    assert (ident.serial_number, ident.manufacturer, ident.model, ident.pkid) == (
        dev.serial,
        dev.manufacturer,
        dev.model,
        dev.pkid,
    )
    if dev.file == "vmware-grouptag.csv":
        assert device.group_tag == "SP001_STD01"


def test_intune_format_with_group_tag_and_assigned_user() -> None:
    text = _lines(
        INTUNE + ",Group Tag,Assigned User",
        f"{D1.serial},{D1.pkid},{D1.hardware_hash},Sales,anna@contoso.com",
        f"{D2.serial},,{D2.hardware_hash},,",
    )
    result = read_devices(text.encode("utf-8"))
    # Partner Center cannot carry these: said once per column, never dropped silently.
    assert [(d.line, d.column, d.code) for d in result.diagnostics] == [
        (1, "Group Tag", "not-sent"),
        (1, "Assigned User", "not-sent"),
    ]
    assert "1 row has a value in column 'Group Tag'" in result.diagnostics[0].message
    a, b = result.devices
    assert (a.line, a.group_tag, a.assigned_user, a.product_key) == (
        2,
        "Sales",
        "anna@contoso.com",
        D1.pkid,
    )
    assert (b.line, b.group_tag, b.assigned_user, b.product_key) == (3, None, None, None)


def test_partner_variant_of_get_windowsautopilotinfo() -> None:
    text = _lines(
        INTUNE + ",Manufacturer name,Device model",
        f"{D1.serial},,{D1.hardware_hash},{D1.manufacturer},{D1.model}",
    )
    result = read_devices(text.encode())
    assert result.diagnostics == []
    [d] = result.devices
    assert (d.manufacturer, d.model) == (D1.manufacturer, D1.model)


def test_partner_center_template_one_method_per_row() -> None:
    text = _lines(
        "Device serial number,Windows product ID,Hardware hash,Manufacturer name,Device model",
        f"{D1.serial},,,{D1.manufacturer},{D1.model}",  # tuple
        ",3305404496774,,,",  # PKID only
        f",,{D2.hardware_hash},,",  # hash only
    )
    result = read_devices(text.encode())
    assert result.diagnostics == []
    tup, pk, hw = result.devices
    assert tup.identity.hardware_key is not None and tup.identity.error is None
    assert pk.identity.pkid == "3305404496774" and pk.line == 3
    assert hw.identity.serial_number == D2.serial and hw.line == 4


def test_managed_desktop_and_vendor_aliases() -> None:
    text = _lines(
        "Manufacturer,Model,Serial Number,Hardware Hash",
        f"{D1.manufacturer},{D1.model},{D1.serial},{D1.hardware_hash}",
    )
    result = read_devices(text.encode())
    assert [d.serial_number for d in result.devices] == [D1.serial]
    assert {d.code for d in result.diagnostics} == {"nonstandard-header"}
    vendor = _lines("serial;PKID;Hardware Identifier;OEM", "0012345;3305404496774;;x")
    r2 = read_devices(vendor.encode())
    assert r2.delimiter == ";"
    [d] = r2.devices
    assert d.serial_number == "0012345"  # text, leading zeros kept
    assert d.product_key == "3305404496774"
    codes = {x.code for x in r2.diagnostics}
    assert {"delimiter", "unknown-column", "nonstandard-header"} <= codes


@pytest.mark.parametrize(
    ("encode", "label"),
    [
        (lambda s: s.encode("utf-8"), "UTF-8"),
        (lambda s: codecs.BOM_UTF8 + s.encode("utf-8"), "UTF-8 (BOM)"),
        (lambda s: codecs.BOM_UTF16_LE + s.encode("utf-16-le"), "UTF-16 LE (BOM)"),
        (lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"), "UTF-16 BE (BOM)"),
        (lambda s: s.encode("utf-16-le"), "UTF-16 LE (no BOM)"),
        (lambda s: s.encode("utf-16-be"), "UTF-16 BE (no BOM)"),
        (lambda s: s.encode("cp1252"), "Windows-1252"),
    ],
)
def test_encodings(encode: object, label: str) -> None:
    text = _lines(
        INTUNE + ",Group Tag",
        f"{D1.serial},,{D1.hardware_hash},Équipe",
        f"{D2.serial},,{D2.hardware_hash},Straße",
    )
    data = encode(text)  # type: ignore[operator]
    result = read_devices(data)
    assert result.encoding == label
    assert [d.group_tag for d in result.devices] == ["Équipe", "Straße"]
    assert [d.line for d in result.devices] == [2, 3]
    assert not check_devices(result)
    codes = [d.code for d in result.diagnostics]
    assert codes == (["encoding", "not-sent"] if label == "Windows-1252" else ["not-sent"])


def test_headers_are_case_insensitive_with_a_warning() -> None:
    text = _lines(
        "DEVICE SERIAL NUMBER,windows product id,hardware_hash", f"S1,,{D1.hardware_hash}"
    )
    result = read_devices(text.encode())
    assert len(result.devices) == 1 and result.devices[0].identity.error is None
    assert [d.column for d in result.diagnostics if d.code == "nonstandard-header"] == [
        "DEVICE SERIAL NUMBER",
        "windows product id",
        "hardware_hash",
    ]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_other_delimiters(delimiter: str, name: str) -> None:
    header = INTUNE.replace(",", delimiter)
    text = _lines(header, delimiter.join([D1.serial, "", D1.hardware_hash]))
    result = read_devices(text.encode())
    assert result.delimiter == delimiter
    assert [d.serial_number for d in result.devices] == [D1.serial]
    assert [(d.line, d.code) for d in result.diagnostics] == [(1, "delimiter")]
    assert name in result.diagnostics[0].message


def test_excel_sep_line() -> None:
    text = _lines("sep=;", INTUNE.replace(",", ";"), f"{D1.serial};;{D1.hardware_hash}")
    result = read_devices(text.encode())
    assert result.header_line == 2 and result.devices[0].line == 3


def test_physical_line_numbers() -> None:
    dup = regenerate_hash(101)  # D1 read again: another string, the same machine
    text = _lines(
        INTUNE + ",Group Tag",  # 1
        f"{D1.serial},,{D1.hardware_hash},A",  # 2
        "",  # 3 blank
        f"{D2.serial},,DummyHash123,B",  # 4 invalid hash
        f'{D3.serial},,{D3.hardware_hash},"two',  # 5 quoted field with a line break...
        'lines"',  # 6 ...ends here
        f"{D1.serial},,{dup},C",  # 7 duplicate of line 2
        ",,,,",  # 8 empty row
        "ONLYSERIAL,,,D",  # 9 no usable identifier
        ",,,",  # 10
    )
    result = read_devices(text.encode())
    assert [d.line for d in result.devices] == [2, 4, 5, 7, 9]
    assert result.devices[2].group_tag == "two\r\nlines"
    assert _diags(result) == [
        (4, "error", "InvalidZtdHardwareHash"),
        (5, "warning", "quoted-field"),
        (5, "warning", "multiline-row"),
        (7, "error", "ZtdDeviceDuplicated"),
        (9, "error", "MissingZtdSerialNumberAndProductKey"),
        (1, "warning", "not-sent"),  # the Group Tag column, said once for the file
    ]
    by_line = {d.line: d for d in result.diagnostics if d.severity == "error"}
    assert by_line[4].column == "Hardware Hash" and "802" in by_line[4].message
    assert "line 2" in by_line[7].message
    assert "lines 5-6" in result.diagnostics[2].message
    assert check_devices(result)


def test_lone_cr_and_lf_line_endings() -> None:
    for eol in ("\n", "\r"):
        text = _lines(INTUNE, f"S1,,{D1.hardware_hash}", "", "S2,,DummyHash123", eol=eol)
        result = read_devices(text.encode())
        assert [(d.line, d.code) for d in result.errors] == [(4, "InvalidZtdHardwareHash")]


def test_duplicate_product_keys() -> None:
    text = _lines(INTUNE, ",3305404496774,", "X,,", ",3305404496774,")
    result = read_devices(text.encode())
    dup = [d for d in result.diagnostics if d.code == "ZtdDeviceDuplicated"]
    assert [(d.line, d.column) for d in dup] == [(4, "Windows Product ID")]
    assert "line 2" in dup[0].message


OTHER_PKID = "3305404496774"


def test_row_warnings() -> None:
    text = _lines(
        INTUNE,
        f"{VM.serial},00329-00000-0003-AA606,{VM.hardware_hash},",
        f"WRONG,{OTHER_PKID},{D2.hardware_hash}",
        f",{D3.pkid}9,{D3.hardware_hash}",  # 14 digits: not a PKID, the hash identifies
    )
    result = read_devices(text.encode())
    assert _diags(result) == [
        (2, "warning", "pid-not-pkid"),
        (2, "warning", "missing-disk-serial"),
        (3, "warning", "serial-mismatch"),
        (3, "warning", "pkid-mismatch"),
        (4, "warning", "product-key-not-pkid"),
    ]
    columns = [d.column for d in result.diagnostics]
    assert columns == [
        "Windows Product ID",
        "Hardware Hash",
        "Device Serial Number",
        "Windows Product ID",
        "Windows Product ID",
    ]


def test_row_limit_warning() -> None:
    rows = [INTUNE] + [f",{3305404400000 + i},," for i in range(501)]
    result = read_devices(_lines(*rows).encode())
    assert [(d.line, d.code) for d in result.diagnostics] == [(502, "row-limit")]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\r\n  \r\n", "empty"),
        (b"foo,bar\r\n1,2\r\n", "no recognizable header"),
        (D1.hardware_hash.encode(), "header line is missing.*top of the file: Hardware Hash$"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "not valid UTF-16"),  # lone surrogate
        (b"sep=;\r\n", "nothing follows"),
    ],
)
def test_format_errors(data: bytes, fragment: str) -> None:
    with pytest.raises(CsvFormatError, match=fragment) as info:
        read_devices(data, source="f.csv")
    assert isinstance(info.value, ValueError)


def test_invalid_utf8_after_a_utf8_bom_refuses_the_file() -> None:
    # The BOM says UTF-8 and byte 0xff contradicts it: ANSI text appended to a UTF-8 file.
    data = codecs.BOM_UTF8 + _lines(INTUNE, "S\xff1,,", ",3305404496774,").encode("latin-1")
    with pytest.raises(CsvFormatError, match=r"byte 59 \(line 2, 0xff\) is not UTF-8"):
        read_devices(data)


def test_oversized_field_is_a_format_error() -> None:
    data = _lines(INTUNE, "S," + "1" * 200_000 + ",").encode()
    with pytest.raises(CsvFormatError, match="line 2"):
        read_devices(data)


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(CsvFormatError):
        read_devices(data)


@given(st.text(max_size=300), st.sampled_from([",", ";", "\t"]))
@settings(max_examples=300, deadline=None)
def test_fuzz_rows_under_a_valid_header(body: str, delimiter: str) -> None:
    data = (INTUNE.replace(",", delimiter) + "\r\n" + body).encode("utf-8", "surrogatepass")
    try:
        result = read_devices(data)
    except CsvFormatError:
        return
    for device in result.devices:
        assert device.line >= 2
    for diag in result.diagnostics:
        assert diag.line >= 1 and diag.severity in ("error", "warning")
