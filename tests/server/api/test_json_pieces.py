"""loads_in_pieces is orjson.loads, whatever the body (issue 20, item 7b)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ztd.server.api.json_pieces import loads_in_pieces

# Texts that look like the places bodies are cut at, to tempt a cut inside a string.
TEXT = st.sampled_from(["},{", "}, {", '"},{"', "\\", '"', "]", "x"]) | st.text(max_size=6)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
DOCUMENT = VALUE | st.lists(st.dictionaries(TEXT, VALUE, max_size=3), max_size=12)


def spellings(document: Any) -> list[bytes]:
    return [
        orjson.dumps(document),
        json.dumps(document, indent=1).encode(),
        json.dumps(document, separators=(" ,\n", " : ")).encode(),
    ]


@settings(max_examples=50, deadline=None)
@given(document=DOCUMENT, piece_bytes=st.integers(1, 64))
def test_pieces_parse_to_what_one_call_does(document: Any, piece_bytes: int) -> None:
    for body in spellings(document):
        assert loads_in_pieces(body, piece_bytes) == orjson.loads(body)


@settings(max_examples=50, deadline=None)
@given(document=DOCUMENT, piece_bytes=st.integers(1, 64), data=st.data())
def test_broken_bodies_fail_as_one_call_does(document: Any, piece_bytes: int, data: Any) -> None:
    body = orjson.dumps(document)
    cut = data.draw(st.integers(0, len(body)))
    broken = (
        body[:cut] + data.draw(st.sampled_from([b"", b"}", b",", b'"', b"{"])) + body[cut + 1 :]
    )
    try:
        expected = orjson.loads(broken)
    except orjson.JSONDecodeError as exc:
        with pytest.raises(orjson.JSONDecodeError) as raised:
            loads_in_pieces(broken, piece_bytes)
        assert (raised.value.msg, raised.value.pos) == (exc.msg, exc.pos)
    else:
        assert loads_in_pieces(broken, piece_bytes) == expected
