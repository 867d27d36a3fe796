"""Trailing commas read as Newtonsoft reads them: one rule for the API and the file reader."""

from __future__ import annotations

import orjson
import pytest

from ztd.identity.csv_text import load_json_bytes
from ztd.identity.json_text import without_trailing_commas
from ztd.identity.synthetic import synthesize_device


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"[1, 2,]", [1, 2]),
        (b'{"a": 1 ,\n}', {"a": 1}),
        (b'{"a": [{"b": "x,}",},],}', {"a": [{"b": "x,}"}]}),  # commas inside strings kept
        (b'{"a": "\\",]",}', {"a": '",]'}),  # an escaped quote does not end the string
    ],
)
def test_trailing_commas_are_dropped(text: bytes, expected: object) -> None:
    assert without_trailing_commas(text) == expected


@pytest.mark.parametrize("text", [b"[,]", b"{,}", b"[1,,]", b'{"a": 1,,}', b'{"a": 1', b"[1]"])
def test_what_is_not_json_even_so_is_none(text: bytes) -> None:
    assert without_trailing_commas(text) is None


def test_files_read_as_the_api_reads_bodies() -> None:
    # A body built by hand in a script: the file reader of `ztd csv check` and `ztd upload`
    # takes what the API takes (it refused it with "trailing comma is not allowed").
    h = synthesize_device(401).hardware_hash
    text = f'{{"BatchId": "x",\r\n "Devices": [{{"HardwareHash": "{h}", }},\r\n],\r\n}}'
    for encoding in ("utf-8", "utf-8-sig", "utf-16"):
        assert load_json_bytes(text.encode(encoding))["Devices"] == [{"HardwareHash": h}]
    with pytest.raises(orjson.JSONDecodeError):
        load_json_bytes(b'{"Devices": [,]}')
