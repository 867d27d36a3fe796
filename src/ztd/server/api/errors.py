"""The API edge's one mapping from domain refusals to Partner Center's error answer: the
HTTP status for each kind of ``DomainError``, the headers some of them need, and the body
``{code, description, data, source}``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ztd.server.errors import (
    BodyTooLarge,
    BodyTooSlow,
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    Throttled,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

SOURCE = "PartnerApiServiceControllers"
MAX_DESCRIPTION = 1024

# Looked up along the exception's class hierarchy: a subclass answers as its family does.
STATUS: dict[type[DomainError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    BodyTooSlow: 408,
    Conflict: 409,
    BodyTooLarge: 413,
    UnsupportedMediaType: 415,
    Throttled: 429,
    Unavailable: 503,
}


def status_of(error: DomainError) -> int:
    """The HTTP status ``error`` answers with; 500 for a kind the table forgot (a test
    checks that every kind is in it)."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def headers_of(error: DomainError) -> dict[str, str] | None:
    """The headers HTTP asks of an answer with ``error``'s status."""
    if isinstance(error, Unauthenticated):
        return {"WWW-Authenticate": 'Bearer realm="ztd"'}
    if isinstance(error, Throttled):  # Partner Center's throttling answer: the wait in seconds
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, BodyTooSlow):  # the rest of the body is not read: no keep-alive
        return {"Connection": "close"}
    return None


def domain_error_response(error: DomainError) -> Response:
    return error_response(
        status_of(error), error.code, error.description, error.data, headers_of(error)
    )


def error_response(
    status: int,
    code: str,
    description: str,
    data: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "code": code,
        "description": description[:MAX_DESCRIPTION] or "Error",
        "data": data or [],
        "source": SOURCE,
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )
