"""Rendering errors as Partner Center's body: ``{code, description, data, source}``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ztd.server.errors import ApiError

SOURCE = "PartnerApiServiceControllers"
MAX_DESCRIPTION = 1024


def api_error_response(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.description, exc.data, exc.headers)


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
