"""Successful responses in Partner Center's shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ztd.wire.paths import resource_path

JSON_TYPE = "application/json; charset=utf-8"


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content), status_code=status_code, media_type=JSON_TYPE, headers=headers
    )


def job_location(customer_id: str, tracking_id: str) -> str:
    # Relative, without /v1: PowerShell takes Location.Split('/')[4] as the tracking id.
    return resource_path("customers", customer_id, "batchJobStatus", tracking_id)
