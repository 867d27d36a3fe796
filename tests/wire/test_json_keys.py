"""Duplicate property names: found exactly (an exact repeat, or two spellings of one
property), with the JSON path of the later one, whatever the text's layout; never found in
documents that merely look suspicious (a string value holding '":')."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ztd.wire.json_keys import DuplicateKey, find_duplicate_key, same_property


def _check(text: str) -> DuplicateKey | None:
    """Both forms the callers hand over: bytes (the service) and text (the CLI)."""
    document = orjson.loads(text)
    from_bytes = find_duplicate_key(document, text.encode())
    from_text = find_duplicate_key(document, text)
    assert str(from_bytes) == str(from_text)
    return from_text


def _device(n: int) -> str:
    return f'{{"serialNumber":"S{n}","hardwareHash":"QUJD{n}"}}'


@pytest.mark.parametrize(
    ("text", "path", "key", "other"),
    [
        ('{"a":1,"a":2}', "a", "a", "a"),
        (
            '{"batchId":"x","devices":[' + _device(0) + "," + _device(1) + ","
            '{"serialNumber":"S2","serialNumber":"S3"}]}',
            "devices[2].serialNumber",
            "serialNumber",
            "serialNumber",
        ),
        (
            '{"devices":[{"serialNumber":"S","SerialNumber":"T"}]}',
            "devices[0].SerialNumber",
            "SerialNumber",
            "serialNumber",
        ),
        (
            '{"Devices":[{"serial_number":"S","SERIALNUMBER":"T"}]}',
            "Devices[0].SERIALNUMBER",
            "SERIALNUMBER",
            "serial_number",
        ),
        ('{"batchId":"x","BatchId":"y","devices":[]}', "BatchId", "BatchId", "batchId"),
        # Spaced, pretty-printed, and with a trailing comma the service accepts.
        (
            '{\n  "devices" : [\n    {"policies": [{"key": "o_o_b_e", "key" : "x"}]},\n  ],\n}',
            "devices[0].policies[0].key",
            "key",
            "key",
        ),
        # Nested deeper than the first duplicate found level by level: document order wins.
        ('[{"x":{"y":{"z":1,"z":2}}},{"q":1,"Q":2}]', "[0].x.y.z", "z", "z"),
        ('[{"q":1,"Q":2},{"x":{"y":{"z":1,"z":2}}}]', "[0].Q", "Q", "q"),
    ],
)
def test_duplicates_are_named_with_their_path(text: str, path: str, key: str, other: str) -> None:
    lenient = text.replace(",\n  ],\n}", "\n  ]\n}")  # orjson reads no trailing comma
    document = orjson.loads(lenient)
    found = find_duplicate_key(document, text)  # the service counts in the text it was sent
    assert found is not None
    assert (found.path, found.key, found.other) == (path, key, other)
    assert str(found).startswith(f"{path}: ")
    assert "Give each property once" in str(found)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"b":2}',
        '{"a":"x\\":y","b":"\\":\\":"}',  # string values that hold '":': only a slower look
        '{"uploadedDate":"0001-01-01T00:00:00","id":"a:b"}',  # colons in values
        '[{"a":1},{"a":1},{"A":1}]',  # the same name in different objects
        '{"a":{"a":{"a":1}}}',
        '"just a string"',
        "[]",
        '{"self":1,"next":2}',
    ],
)
def test_documents_without_duplicates_pass(text: str) -> None:
    assert _check(text) is None


def test_an_exact_repeat_is_found_among_colons_in_values() -> None:
    text = '{"uploadedDate":"0001-01-01T00:00:00","id":"x","id":"y"}'
    found = _check(text)
    assert found is not None and found.path == "id"


def test_a_long_property_name_is_cut_in_the_message() -> None:
    name = "p" * 500
    found = _check(f'{{"devices":[{{"{name}":1,"{name}":2}}]}}')
    assert found is not None
    assert len(str(found)) < 400 and found.path == "devices[0]." + "p" * 40 + "..."


def test_ten_thousand_devices_with_one_repeat_at_the_end() -> None:
    devices: list[Any] = [
        {"serialNumber": f"S{n}", "hardwareHash": "QUJD" * 50} for n in range(10_000)
    ]
    text = orjson.dumps({"devices": devices}).decode()
    assert _check(text) is None
    text = text[:-3] + ',"hardwareHash":"QUJD"}]}'
    found = _check(text)
    assert found is not None and found.path == "devices[9999].hardwareHash"


def test_same_property_folds_case_and_underscores() -> None:
    assert same_property("serial_number") == same_property("SerialNumber") == "serialnumber"
    assert same_property("serialNumber") != same_property("serialNumbers")
