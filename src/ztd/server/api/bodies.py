"""Reading request bodies: size limit, media type, JSON syntax and wire validation, each
failing with an error that says exactly what is wrong and where."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request

from ztd.server.api.idempotency import start_fingerprint
from ztd.server.errors import bad_request, payload_too_large, unsupported_media_type

JSON_TYPES = ("application/json", "text/json")
M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused past ``limit`` bytes and when it is not JSON."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise unsupported_media_type(content_type)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise payload_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked bodies carry no length: count as they arrive
            raise payload_too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    start_fingerprint(request, body)
    return body


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise bad_request("The request body is empty; send a JSON document.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        lenient = _without_trailing_commas(body)
        if lenient is not None:
            return lenient
        raise bad_request(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}."
        ) from exc


# A JSON string (kept as is), or a comma before a closing bracket (dropped).
_STRING_OR_TRAILING_COMMA = re.compile(rb'"(?:[^"\\]|\\.)*"|,(?=\s*[\]}])')
_WHITESPACE = b" \t\r\n"
_OPENERS = b"[{,"


def _without_trailing_commas(body: bytes) -> Any | None:
    """The body read as Newtonsoft reads it, which accepts ``[1, 2,]`` and ``{"a": 1,}``
    (scripts that build JSON by hand send them); None when it is not JSON even so. Only
    bodies orjson refused come here."""

    def keep_or_drop(match: re.Match[bytes]) -> bytes:
        text = match.group(0)
        if text[:1] == b'"':
            return text
        before = match.start() - 1
        while before >= 0 and body[before] in _WHITESPACE:
            before -= 1
        # A comma after a value goes; "[,]" and "{,}" stay refused (no value before it).
        return text if before < 0 or body[before] in _OPENERS else b""

    cleaned = _STRING_OR_TRAILING_COMMA.sub(keep_or_drop, body)
    if cleaned == body:
        return None
    try:
        return orjson.loads(cleaned)
    except orjson.JSONDecodeError:
        return None


def parse_model(model: type[M], data: Any, *, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise bad_request(f"Invalid {what}: " + "; ".join(problems[:5]), problems) from exc


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + to_camel(str(part))
    return text or "body"
