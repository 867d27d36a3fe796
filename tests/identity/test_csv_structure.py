"""Quoting faults in device CSVs: each is one precise finding (line, column, what is wrong,
what to do), never a device code for values the csv module guessed, and well-formed quoting
is never one."""

from __future__ import annotations

import pytest

from ztd.identity.csv_reader import CsvResult, read_devices
from ztd.identity.csv_structure import row_fault
from ztd.identity.synthetic import synthesize_device

D1, D2, D3 = synthesize_device(301), synthesize_device(302), synthesize_device(303)
HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model"


def _file(*rows: str, eol: str = "\r\n") -> bytes:
    return eol.join((HEADER, *rows, "")).encode()


def _errors(result: CsvResult) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.errors]


def _row(device: object, serial: str | None = None) -> str:
    return f"{serial or device.serial},,{device.hardware_hash},,"  # type: ignore[attr-defined]


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
def test_an_unterminated_quote_is_one_finding_at_the_line_and_column_it_opens(eol: str) -> None:
    result = read_devices(_file(_row(D1), f'{D2.serial},,"{D2.hardware_hash},,', _row(D3), eol=eol))
    [error] = result.errors
    assert (error.line, error.code, error.column) == (3, "unterminated-quote", "Hardware Hash")
    assert error.message.startswith(
        f"unterminated quoted field: the quotation mark at line 3, column {len(D2.serial) + 3} "
    )
    assert "to the end of the file" in error.message and "Close the quote" in error.message
    # Nothing else is said about the swallowed rows: no 803, no quoting warning.
    assert not [w for w in result.warnings if w.code in ("quoted-field", "multiline-row")]
    assert [d.line for d in result.devices] == [2]


def test_a_quote_closed_only_on_a_later_line_is_reported_where_it_opens() -> None:
    result = read_devices(
        _file(f'"{D1.serial},,{D1.hardware_hash},,', f'"{D2.serial}"x,,{D2.hardware_hash},,')
    )
    [error] = result.errors
    assert (error.line, error.code, error.column) == (
        2,
        "unterminated-quote",
        "Device Serial Number",
    )
    assert "column 1 " in error.message and "lines 2-3 were read as one value" in error.message


def test_a_quote_left_open_above_an_oversized_rest_of_the_file() -> None:
    """The csv module gives up (a field over its limit) instead of swallowing: the same
    finding, not a whole-file 'field larger than field limit'."""
    rows = [_row(synthesize_device(400 + n)) for n in range(60)]
    rows[1] = '"' + rows[1]
    result = read_devices(_file(*rows))
    assert _errors(result) == [(3, "unterminated-quote")]
    assert [d.line for d in result.devices] == [2]


@pytest.mark.parametrize(
    ("row", "line", "column", "code", "header", "says"),
    [
        (
            'SER"1,,,Dell,Latitude',
            3,
            4,
            "quote-in-unquoted-field",
            "Device Serial Number",
            "'SER\"1'",
        ),
        (
            'SER1,,,Dell "Inc",Latitude',
            3,
            13,
            "quote-in-unquoted-field",
            "Manufacturer name",
            "'Dell \"Inc\"'",
        ),
        (
            'SER1,,, "Dell",Latitude',
            3,
            9,
            "quote-in-unquoted-field",
            "Manufacturer name",
            "first character",
        ),
        ('"SER1"X,,,Dell,Latitude', 3, 7, "text-after-quote", "Device Serial Number", "('X')"),
        ('SER1,,,"Dell" ,Latitude', 3, 14, "text-after-quote", "Manufacturer name", "(' ')"),
        (
            'SER1,,,"Dell"Inc","Latitude"',
            3,
            14,
            "text-after-quote",
            "Manufacturer name",
            "followed by a comma",
        ),
    ],
)
def test_marks_inside_or_after_a_value(
    row: str, line: int, column: int, code: str, header: str, says: str
) -> None:
    result = read_devices(_file(_row(D1), row))  # the faulty row on line 3
    [error] = result.errors
    assert (error.line, error.code, error.column) == (line, code, header)
    assert f"line {line}, column {column}" in error.message
    assert says in error.message
    assert [d.line for d in result.devices] == [2]  # the good row only


def test_well_formed_quoting_is_no_fault() -> None:
    result = read_devices(
        _file(
            f'"{D1.serial}","","{D1.hardware_hash}","VMware, Inc.","VMware7,1"',
            f'{D2.serial},,{D2.hardware_hash},"Say ""Dell""",',
            f'{D3.serial},,{D3.hardware_hash},"two{chr(10)}lines",""',
        )
    )
    assert result.errors == []
    assert [d.manufacturer for d in result.devices] == ["VMware, Inc.", 'Say "Dell"', "two\nlines"]
    codes = [w.code for w in result.warnings]
    assert codes.count("quoted-field") == 1 and codes.count("multiline-row") == 1


def test_other_delimiters() -> None:
    text = HEADER.replace(",", ";") + "\r\n" + f'{D1.serial};;"{D1.hardware_hash}"x;;\r\n'
    [error] = read_devices(text.encode()).errors
    assert error.code == "text-after-quote" and "followed by a semicolon" in error.message
    tab = HEADER.replace(",", "\t") + "\r\n" + f'{D1.serial}\t\t{D1.hardware_hash}\tDe"ll\t\r\n'
    [error] = read_devices(tab.encode()).errors
    assert (error.code, error.column) == ("quote-in-unquoted-field", "Manufacturer name")


def test_a_row_short_of_an_identifier_column_names_the_field_count_not_803() -> None:
    result = read_devices(_file(_row(D1), f"{D2.serial}{D2.hardware_hash}", f"{D3.serial},,"))
    errors = result.errors
    assert [(e.line, e.code) for e in errors] == [(3, "too-few-fields"), (4, "too-few-fields")]
    assert errors[0].message.startswith("the row has 1 field(s) but the header has 5: it ends ")
    assert "'Windows Product ID', 'Hardware Hash', 'Manufacturer name'" in errors[0].message
    assert "803 MissingZtdSerialNumberAndProductKey" in errors[0].message
    assert errors[1].column == "Manufacturer name"


def test_short_rows_that_identify_their_device_stay_fine() -> None:
    result = read_devices(_file(f"{D1.serial},,{D1.hardware_hash}", "ONLYSERIAL,,,Dell,"))
    assert _errors(result) == [(3, "MissingZtdSerialNumberAndProductKey")]  # all 5 fields
    assert [d.line for d in result.devices] == [2, 3]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a,b,c\r\n", None),
        ('"a","b,c",""\n', None),
        ('"a""b",c', None),
        ('"a\nb",c\n', None),
        ('a,"b', ("unterminated-quote", 7, 3, 1)),
        ('a,b"c', ("quote-in-unquoted-field", 7, 4, 1)),
        ('"a"b,c', ("text-after-quote", 7, 4, 0)),
        ('x,"a\r\nb"c,d', ("unterminated-quote", 7, 3, 1)),
        ('x,y,"a\r\n\r\nb', ("unterminated-quote", 7, 5, 2)),
    ],
)
def test_row_fault_positions(raw: str, expected: tuple[str, int, int, int] | None) -> None:
    fault = row_fault(raw, 7, ",")
    if expected is None:
        assert fault is None
    else:
        assert fault is not None
        assert (fault.code, fault.line, fault.column, fault.field) == expected
