"""What one logical call is, independent of sync or async: the request and how to read
its answer. The fluent operations build these; the pipelines send them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ztd.client.errors import UnexpectedResponseError
from ztd.wire import ResourceCollection, WireModel

__all__ = ["ApiRequest", "parse_collection", "parse_model", "segment"]

M = TypeVar("M", bound=WireModel)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # under /v1, e.g. "/customers/{cid}/deviceBatches"
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Fixed by the caller to make a write idempotent across processes; else one per call.
    request_id: str | None = None


def segment(value: str, what: str) -> str:
    """A URL path segment from a caller's id: refuse empty ones (an empty id would silently
    address the collection instead), percent-encode the rest (batch names have spaces)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value.strip(), safe="")


def parse_model(response: httpx.Response, model: type[M]) -> M:
    return model.model_validate(_json(response))


def parse_collection(response: httpx.Response, item: type[M]) -> ResourceCollection[M]:
    return ResourceCollection[item].model_validate(_json(response))  # type: ignore[valid-type]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise UnexpectedResponseError(
            f"{response.status_code} from {response.request.method} {response.request.url} "
            f"is not JSON: {response.text[:200]!r}",
            status=response.status_code,
            request_id=response.headers.get("ms-requestid"),
            correlation_id=response.headers.get("ms-correlationid"),
        ) from exc
