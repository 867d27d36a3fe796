"""Files as partners' tools make them (shared/fixtures/field-cases): shapes, encodings and hash
text. Each handed case has its test, next to variants built here: a fix must hold for the class
(other report layouts, other encoding mixes, other casings), not for one file's bytes."""

from __future__ import annotations

import base64
import codecs
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.support.real_devices import case
from ztd.cli import identity_commands
from ztd.identity.csv_reader import CsvFormatError, CsvResult, check_devices, read_devices
from ztd.identity.errors import HashDecodeError
from ztd.identity.hardware_hash import decode_hash, hash_to_bytes
from ztd.identity.synthetic import regenerate_hash, synthesize_device

D1, D2, D3 = synthesize_device(201), synthesize_device(202), synthesize_device(203)
INTUNE = "Device Serial Number,Windows Product ID,Hardware Hash"
PARTNER = INTUNE + ",Manufacturer name,Device model"


def _lines(*lines: str, eol: str = "\r\n") -> str:
    return eol.join(lines) + eol


def _codes(result: CsvResult) -> list[tuple[int, str, str]]:
    return [(d.line, d.severity, d.code) for d in result.diagnostics]


def _format_error(data: bytes) -> str:
    with pytest.raises(CsvFormatError) as info:
        read_devices(data, source="f.csv")
    return str(info.value)


# -- case02, case16, case17: regressions --------------------------------------------------


@pytest.mark.parametrize(
    "name", ["case02-pc-template-sentence-case.csv", "case02-vendor-title-case.csv"]
)
def test_case02_template_and_vendor_headers_keep_working(name: str) -> None:
    result = read_devices(case(name))
    assert result.diagnostics == [] and result.devices
    assert all(d.identity.error is None for d in result.devices)


def test_case16_partner_switch_output_keeps_working() -> None:
    result = read_devices(case("case16-partner-switch-output.csv"))
    assert not check_devices(result)
    hashed, tup = result.devices
    assert hashed.hardware_hash is not None and hashed.identity.error is None
    assert (tup.serial_number, tup.manufacturer, tup.model) == (
        "PF0QQ7TEST",
        "LENOVO",
        "20XW004GUS",
    )


def test_case17_recapture_is_a_duplicate_with_its_line() -> None:
    result = read_devices(case("case17-append-duplicate-recapture.csv"))
    assert [(d.line, d.code) for d in result.errors] == [(3, "ZtdDeviceDuplicated")]
    assert "same device as line 2" in result.errors[0].message


# -- case03: no header --------------------------------------------------------------------


def test_case03_missing_header_gives_the_line_to_add() -> None:
    message = _format_error(case("case03-no-header.csv"))
    assert "header line is missing" in message and "line 1" in message
    assert message.endswith(f"Add this line at the top of the file: {INTUNE}")
    assert "skip-invalid" not in message


@pytest.mark.parametrize(
    ("rows", "header"),
    [
        ([f"{D1.serial},,{D1.hardware_hash},{D1.manufacturer},{D1.model}"], PARTNER),
        ([f"{D1.serial},{D1.pkid},{D1.hardware_hash},Sales"], INTUNE + ",Group Tag"),
        ([f",{D1.pkid},"], INTUNE),  # a PKID is a value no header holds either
        ([f"{D1.hardware_hash}"], "Hardware Hash"),
        # Title lines and then devices: still a missing header, at the first device's line.
        (["Autopilot devices", "", f"{D1.serial},,{D1.hardware_hash}"], INTUNE),
    ],
)
def test_missing_header_variants(rows: list[str], header: str) -> None:
    message = _format_error(_lines(*rows).encode())
    assert "header line is missing" in message
    place = "above line 3" if rows[0] == "Autopilot devices" else "at the top of the file"
    assert message.endswith(f"Add this line {place}: {header}")
    if rows[0] == "Autopilot devices":
        assert "line 3, the first line with data" in message


# -- case04: report exports ---------------------------------------------------------------


def test_case04_report_export_reads_the_values_and_says_so() -> None:
    result = read_devices(case("case04-sccm-report-export.csv"))
    assert [d.serial_number for d in result.devices] == ["CND5821H0A", "PFMJS1RM"]
    assert all(d.identity.error is None for d in result.devices)
    assert not check_devices(result)
    assert result.header_line == 3 and result.columns["hardware_hash"] == "Hardware Hash"
    assert [(d.line, d.code) for d in result.diagnostics] == [
        (1, "title-lines"),
        (4, "report-layout"),
    ]
    explained = result.diagnostics[1].message
    assert "report export" in explained and "columns 1-3" in explained
    assert "read from columns 4-6" in explained


def _report(*rows: str, title: bool = True, textbox: str | None = "Textbox1,Textbox2") -> bytes:
    head = ["Windows Autopilot Device Information", ""] if title else []
    if textbox is not None:
        head.append(textbox)
    return _lines(*head, *rows).encode()


LABELS = "Device Serial Number,Windows Product ID,Hardware Hash"


@pytest.mark.parametrize(
    ("data", "first_line"),
    [
        # Textbox-only header: nothing names the values, the labels do.
        (
            _report(
                f"{LABELS},{D1.serial},,{D1.hardware_hash}",
                f"{LABELS},{D2.serial},,{D2.hardware_hash}",
                textbox="Textbox1,Textbox2,Textbox3,Textbox4,Textbox5,Textbox6",
            ),
            4,
        ),
        # No header line and no title: the first row holds labels and a hash.
        (
            _report(
                f"{LABELS},{D1.serial},,{D1.hardware_hash}",
                f"{LABELS},{D2.serial},,{D2.hardware_hash}",
                title=False,
                textbox=None,
            ),
            1,
        ),
        # Label/value pairs, other casing, semicolons (a European export).
        (
            _report(
                f"SERIAL NUMBER;{D1.serial};hardware hash;{D1.hardware_hash}",
                f"SERIAL NUMBER;{D2.serial};hardware hash;{D2.hardware_hash}",
                textbox="Textbox1;Textbox2;Textbox3;Textbox4",
            ),
            4,
        ),
    ],
)
def test_other_report_layouts(data: bytes, first_line: int) -> None:
    result = read_devices(data)
    assert [d.serial_number for d in result.devices] == [D1.serial, D2.serial]
    assert [d.line for d in result.devices] == [first_line, first_line + 1]
    assert all(d.identity.error is None for d in result.devices)
    assert "report-layout" in [d.code for d in result.warnings]
    assert not check_devices(result)


def test_a_report_row_without_the_labels_is_an_error_not_a_guess() -> None:
    data = _report(
        f"{LABELS},{D1.serial},,{D1.hardware_hash}",
        f"{D2.serial},,{D2.hardware_hash},,,",
        textbox="Textbox1,Textbox2,Textbox3,Textbox4,Textbox5,Textbox6",
    )
    result = read_devices(data)
    assert [d.serial_number for d in result.devices] == [D1.serial]
    assert [(d.line, d.code) for d in result.errors] == [(5, "report-layout-row")]


def test_a_row_holding_a_hash_is_never_the_header() -> None:
    # "Hardware Hash" looks like a header cell, but the line holds a hash: it is a row of
    # label/value pairs, not a header (which would make the first device vanish).
    line = f"Hardware Hash,{D1.hardware_hash}"
    result = read_devices(_lines(line, f"Hardware Hash,{D2.hardware_hash}").encode())
    assert result.header_line == 0 and len(result.devices) == 2  # a pair layout, not a header


# -- case06: columns Partner Center cannot carry ------------------------------------------


def test_case06_group_tag_and_assigned_user_are_said_not_sent() -> None:
    result = read_devices(case("case06-grouptag-assigneduser.csv"))
    assert not check_devices(result)
    notes = [d for d in result.warnings if d.code == "not-sent"]
    assert [d.column for d in notes] == ["Group Tag", "Assigned User"]
    assert all("does not send" in d.message and "Intune" in d.message for d in notes)
    assert notes[1].message.startswith("2 rows have a value in column 'Assigned User'")


@pytest.mark.parametrize("header", ["Order ID", "GROUP TAG", "OrderIdentifier", "group_tag"])
def test_other_spellings_of_unsent_columns(header: str) -> None:
    text = _lines(f"{INTUNE},{header},UPN", f"{D1.serial},,{D1.hardware_hash},T1,a@b.c")
    notes = [d for d in read_devices(text.encode()).warnings if d.code == "not-sent"]
    assert [d.column for d in notes] == [header, "UPN"]


def test_an_empty_group_tag_column_loses_nothing_and_says_nothing() -> None:
    result = read_devices(
        _lines(f"{INTUNE},Group Tag", f"{D1.serial},,{D1.hardware_hash},").encode()
    )
    assert result.diagnostics == []


# -- case14: inventory exports ------------------------------------------------------------


def test_case14_model_column_wins_over_device_name() -> None:
    result = read_devices(case("case14-endpoint-analytics-export.csv"))
    assert [d.model for d in result.devices] == ["HP EliteBook 840 G8 Notebook PC", "21R3001BUK"]
    assert result.columns["model"] == "Model"
    [outranked] = [d for d in result.warnings if d.code == "outranked-column"]
    assert outranked.column == "Device name" and "host name" in outranked.message


@pytest.mark.parametrize(
    "header",
    [
        "Model,Device Name,Serial Number,Manufacturer",  # the model first
        "DEVICE NAME,serial number,manufacturer,device model",  # other casing and alias
        "Device_Name,Serial,Make,Model Name",
    ],
)
def test_device_name_never_shadows_a_model_column(header: str) -> None:
    cells = dict(zip(header.split(","), ["", "", "", ""], strict=True))
    for name in cells:
        key = name.lower().replace("_", " ")
        cells[name] = (
            "DESKTOP-7QK2M1A"
            if key == "device name"
            else "PF0ZZ9Q1"
            if key.startswith("serial")
            else "LENOVO"
            if key in ("manufacturer", "make")
            else "21R3001BUK"
        )
    result = read_devices(_lines(header, ",".join(cells.values())).encode())
    [device] = result.devices
    assert device.model == "21R3001BUK"
    assert "outranked-column" in [d.code for d in result.warnings]


def test_device_name_alone_is_read_as_the_model_with_a_warning() -> None:
    text = _lines(
        "Device Serial Number,Manufacturer name,Device Name", "PF0ZZ9Q1,LENOVO,21R3001BUK"
    )
    result = read_devices(text.encode())
    assert result.devices[0].model == "21R3001BUK"
    [loose] = [d for d in result.warnings if d.code == "loose-header"]
    assert loose.column == "Device Name" and "host names" in loose.message


# -- case18 and other extra fields -------------------------------------------------------


def test_case18_stripped_quotes_are_an_error_naming_the_line() -> None:
    result = read_devices(case("case18-partner-switch-quotes-stripped.csv"))
    [error] = result.errors
    assert (error.line, error.code) == (2, "too-many-fields")
    assert "quote values that contain commas" in error.message
    assert result.devices == []  # nothing registered as manufacturer "VMware", model "Inc."


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon")])
def test_extra_fields_with_other_delimiters(delimiter: str, name: str) -> None:
    header = PARTNER.replace(",", delimiter)
    row = delimiter.join([D1.serial, "", "", "Dell", "Inc.", "Latitude 7440", ""])
    result = read_devices(
        _lines(header, row, delimiter.join([D2.serial, "", D2.hardware_hash])).encode()
    )
    assert [(d.line, d.code) for d in result.errors] == [(2, "too-many-fields")]
    assert f"quote values that contain {name}s" in result.errors[0].message
    assert [d.line for d in result.devices] == [3]


def test_quoted_commas_and_trailing_empty_fields_are_fine() -> None:
    text = _lines(
        PARTNER,
        f'{D1.serial},,,"VMware, Inc.","VMware20,1"',
        f"{D2.serial},,{D2.hardware_hash},,,,",
    )
    result = read_devices(text.encode())
    assert result.errors == []
    assert (result.devices[0].manufacturer, result.devices[0].model) == (
        "VMware, Inc.",
        "VMware20,1",
    )


# -- case15 and other encoding mixes -----------------------------------------------------


def test_case15_mixed_encoding_is_refused_as_a_whole() -> None:
    message = _format_error(case("case15-mixed-encoding-append.csv"))
    assert "encoding changes part-way" in message
    assert "byte 4,080 (line 3)" in message and "UTF-16 LE" in message
    assert "Re-save" in message and "UTF-8" in message


HEAD = _lines(INTUNE, f"{D1.serial},,{D1.hardware_hash}")
TAIL = _lines(f"{D2.serial},,{D2.hardware_hash}")
LE, BE = codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (HEAD.encode() + TAIL.encode("utf-16-le"), "(line 3) UTF-16 LE text begins"),
        (HEAD.encode() + TAIL.encode("utf-16-be"), "(line 3) UTF-16 BE text begins"),
        (HEAD.encode() + LE + TAIL.encode("utf-16-le"), "UTF-16 LE (with a byte-order mark)"),
        (HEAD.encode("cp1252") + BE + TAIL.encode("utf-16-be"), "UTF-16 BE (with a byte-order"),
        (LE + HEAD.encode("utf-16-le") + TAIL.encode(), "line 3) on the bytes are not UTF-16"),
        (LE + HEAD.encode("utf-16-le") + TAIL.encode("utf-16-be"), "line 3) on the bytes are"),
        (LE + HEAD.encode("utf-16-le") + b"X,,\r\n", "line 3) on the bytes are not UTF-16"),
        (LE + HEAD.encode("utf-16-le") + LE + TAIL.encode("utf-16-le"), "second byte-order mark"),
        (codecs.BOM_UTF8 + HEAD.encode() + codecs.BOM_UTF8 + TAIL.encode(), "UTF-8 byte-order"),
        (HEAD.encode() + codecs.BOM_UTF8 + TAIL.encode(), "UTF-8 byte-order mark at byte"),
        # UTF-8 then cp1252, cp1252 then UTF-8, and ANSI after a UTF-8 BOM.
        (
            _lines(INTUNE + ",Group Tag", f"{D1.serial},,,Équipe").encode()
            + _lines(f"{D2.serial},,,Straße").encode("cp1252"),
            "(line 3, 0xdf) is not",
        ),
        (
            _lines(INTUNE + ",Group Tag", f"{D1.serial},,,Straße").encode("cp1252")
            + _lines(f"{D2.serial},,,Équipe").encode(),
            "is UTF-8, but byte",
        ),
        (
            codecs.BOM_UTF8
            + _lines(INTUNE, f"{D1.serial},,").encode()
            + _lines("Straße,,").encode("cp1252"),
            "starts with a UTF-8 byte-order mark, but byte",
        ),
        (HEAD.encode() + b"\x00\x00\x00\x00binary", "a NUL byte (0x00) at byte"),
        (LE + (INTUNE + "\r\nX\x00Y,,\r\n").encode("utf-16-le"), "a NUL character at byte"),
    ],
)
def test_encoding_changes_are_refused_with_where_and_how(data: bytes, fragment: str) -> None:
    message = _format_error(data)
    assert fragment in message
    assert "Nothing was read" in message and "save it as UTF-8" in message


def test_a_uniform_file_in_any_encoding_still_reads() -> None:
    text = _lines(INTUNE + ",Group Tag", f"{D1.serial},,{D1.hardware_hash},中文中文中文中文")
    for data in (LE + text.encode("utf-16-le"), BE + text.encode("utf-16-be"), text.encode()):
        result = read_devices(data)
        assert [d.group_tag for d in result.devices] == ["中文中文中文中文"]


def test_mixed_line_endings_are_named_but_read() -> None:
    text = (
        INTUNE
        + "\r\n"
        + f"{D1.serial},,{D1.hardware_hash}\r\n"
        + f"{D2.serial},,{D2.hardware_hash}\n"
    )
    result = read_devices(text.encode())
    assert len(result.devices) == 2 and not check_devices(result)
    [note] = [d for d in result.diagnostics if d.code == "line-endings"]
    assert note.line == 3 and "LF (Unix)" in note.message and "CRLF" in note.message


# -- case11 and hash text ----------------------------------------------------------------


def test_case11_missing_padding_is_told_apart_from_truncation() -> None:
    result = read_devices(case("case11-unpadded-hash.csv"))
    [error] = result.errors
    assert error.line == 2 and error.column == "Hardware Hash"
    assert "append '=='" in error.message and "checksum verifies" in error.message
    assert "truncated" not in error.message


def _padded_hash(seed: int, extra: int) -> str:
    """A valid hash whose base64 needs '=' padding: zero padding cut to a length % 3 != 0."""
    data = hash_to_bytes(synthesize_device(seed).hardware_hash)
    end = (data[2] | data[3] << 8) + 36
    return base64.b64encode(data[: end + extra]).decode()


def test_missing_padding_variants() -> None:
    seen = set()
    for extra in range(3):  # zero-padding lengths giving each base64 padding
        text = _padded_hash(204, extra)
        decode_hash(text)  # padded, it is valid
        pad = text[len(text.rstrip("=")) :]
        seen.add(pad)
        if not pad:
            continue
        with pytest.raises(HashDecodeError) as info:
            decode_hash(text.rstrip("="))
        assert info.value.code == "missing-padding" and f"append {pad!r}" in str(info.value)
    assert seen == {"", "=", "=="}


@pytest.mark.parametrize("cut", [1, 2, 3, 700])
def test_truncation_is_not_called_missing_padding(cut: int) -> None:
    text = _padded_hash(205, 0)
    short = text[: len(text) - 40 - cut]  # into the checksum trailer or the records
    with pytest.raises(HashDecodeError) as info:
        decode_hash(short)
    assert info.value.code != "missing-padding"
    if len(short) % 4:
        assert "truncated" in str(info.value)


def test_whitespace_inside_a_hash_cell_is_removed_with_a_warning() -> None:
    h = D1.hardware_hash
    wrapped = f'"{h[:1000]}\r\n{h[1000:2000]} {h[2000:]}"'
    result = read_devices(_lines(INTUNE, f"{D1.serial},,{wrapped}").encode())
    [device] = result.devices
    assert device.hardware_hash == h and device.identity.error is None
    assert "hash-whitespace" in [d.code for d in result.warnings]


def test_a_hash_broken_across_lines_names_both_lines() -> None:
    h = D1.hardware_hash
    text = _lines(INTUNE, f"{D1.serial},,{h[:1500]}", h[1500:], f"{D2.serial},,{D2.hardware_hash}")
    result = read_devices(text.encode())
    [error] = result.errors
    assert (error.line, error.code) == (2, "hash-line-break")
    assert "lines 2-3" in error.message and "valid" in error.message
    assert [d.line for d in result.devices] == [2, 4]


def test_invisible_characters_in_a_hash_are_named() -> None:
    h = regenerate_hash(206)
    with pytest.raises(HashDecodeError, match=r"U\+200B, zero width space\) at position 11"):
        decode_hash(h[:10] + "\u200b" + h[10:])


def test_a_lone_cr_inside_a_hash_is_a_broken_hash_and_a_line_ending_change() -> None:
    h = D1.hardware_hash
    text = f"{INTUNE}\r\n{D1.serial},,{h[:1200]}\r{h[1200:]}\r\n{D2.serial},,{D2.hardware_hash}\r\n"
    result = read_devices(text.encode())
    assert [(d.line, d.code) for d in result.errors] == [(2, "hash-line-break")]
    assert ("line-endings", 2) in [(d.code, d.line) for d in result.warnings]
    assert [d.line for d in result.devices] == [2, 4]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("case03-no-header.csv", f"top of the file: {INTUNE}"),
        ("case15-mixed-encoding-append.csv", "at byte 4,080 (line 3) UTF-16 LE text begins"),
    ],
)
def test_csv_check_prints_whole_file_problems(name: str, says: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(case(name))
    result = CliRunner().invoke(_check_app(), ["csv", "check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code != 0
    flat = " ".join(result.output.split())
    assert says in flat and "skip-invalid" not in flat


def _check_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keeps Typer from collapsing a single command into the root."""

    identity_commands.register(app)
    return app
