"""JSON as Newtonsoft (the .NET service behind Partner Center) reads it: trailing commas
are accepted. Scripts that build upload bodies by hand leave ``[1, 2,]`` and ``{"a": 1,}``
behind, and the real service takes them, so ztd's API and its file reader (``ztd upload``,
``ztd csv check``, the console) both do, by this one rule."""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

__all__ = ["without_trailing_commas"]

# A JSON string (kept as is), or a comma before a closing bracket (dropped).
_STRING_OR_TRAILING_COMMA: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|,(?=\s*[\]}])')
_WHITESPACE: Final = b" \t\r\n"
_OPENERS: Final = b"[{,"


def without_trailing_commas(body: bytes) -> Any | None:
    """``body`` (UTF-8 JSON text) parsed with its trailing commas dropped; None when it has
    none, or is not JSON even without them. Call it only for text ``orjson`` refused: valid
    JSON never needs it. ``[,]`` and ``{,}`` stay refused (no value before the comma)."""

    def keep_or_drop(match: re.Match[bytes]) -> bytes:
        text = match.group(0)
        if text[:1] == b'"':
            return text
        before = match.start() - 1
        while before >= 0 and body[before] in _WHITESPACE:
            before -= 1
        return text if before < 0 or body[before] in _OPENERS else b""

    cleaned = _STRING_OR_TRAILING_COMMA.sub(keep_or_drop, body)
    if cleaned == body:
        return None
    try:
        return orjson.loads(cleaned)
    except orjson.JSONDecodeError:
        return None
