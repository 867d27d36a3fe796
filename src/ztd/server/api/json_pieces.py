"""Parsing a large JSON body a piece at a time, so that no one call holds the GIL for long.

orjson never releases the GIL: parsing a 40 MB upload in one call stops every other thread
(the event loop included) for the whole parse, even when it runs in a worker thread.
Uploads are mostly one long array of objects, so the body is cut where one object ends and
the next begins (``}`` ``,`` ``{``), each run of objects is parsed on its own, and the rest
(the envelope) is parsed with a placeholder where the runs were.

The result is exactly ``orjson.loads(body)``. A cut inside a string leaves the envelope
or a run invalid JSON, and anything that does not parse falls back to one orjson.loads of
the whole body, which also gives the precise error. When every piece parses, the body is
the envelope with its placeholder replaced by the runs, a value in an array replaced by a
sequence of values; JSON's grammar has one parse per text, so that parse is the result.
"""

from __future__ import annotations

import os
import re
from itertools import pairwise
from typing import Any

import orjson

_CUT = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")
PIECE_BYTES = 512 * 1024  # ~2-5 ms of parsing per call


def loads_in_pieces(body: bytes, piece_bytes: int = PIECE_BYTES) -> Any:
    cuts = []  # (end of the run before, start of the run after)
    position = piece_bytes
    while position < len(body):
        found = _CUT.search(body, position)
        if found is None:
            break
        cuts.append((found.start() + 1, found.end() - 1))
        position = found.end() + piece_bytes
    if not cuts:
        return orjson.loads(body)
    placeholder = f'"\\u0000{os.urandom(12).hex()}"'.encode()  # no client can guess it
    try:
        runs: list[Any] = []
        for (_, start), (end, _) in pairwise(cuts):
            runs += orjson.loads(b"[" + body[start:end] + b"]")
        envelope = body[: cuts[0][0]] + b"," + placeholder + b"," + body[cuts[-1][1] :]
        document = orjson.loads(envelope)
        marker = orjson.loads(placeholder)
        holder = _only_array_holding(document, marker)
    except orjson.JSONDecodeError:
        holder = None
    if holder is None:
        return orjson.loads(body)
    index = holder.index(marker)
    holder[index : index + 1] = runs
    return document


def _only_array_holding(document: Any, marker: str) -> list[Any] | None:
    """The array that holds ``marker`` as an element, if exactly one does (once)."""
    found: list[list[Any]] = []
    stack = [document]
    while stack:
        value = stack.pop()
        children = value.values() if type(value) is dict else value
        if type(value) is list:
            found += [value] * value.count(marker)
        stack += [c for c in children if type(c) is dict or type(c) is list]
    return found[0] if len(found) == 1 else None
