"""What one logical call is, independent of sync or async: the request and how to read
its answer. The fluent operations build these; the pipelines send them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from ztd.client.errors import UnexpectedResponseError
from ztd.wire import ResourceCollection, WireModel

__all__ = [
    "API_ROOT",
    "WEBHOOKS_ROOT",
    "ApiRequest",
    "parse_collection",
    "parse_model",
    "parse_strings",
    "segment",
]

API_ROOT = "/v1"  # device deployment: /v1/customers/...
WEBHOOKS_ROOT = "/webhooks/v1"  # the webhook API: /webhooks/v1/registration...

M = TypeVar("M", bound=WireModel)
W = TypeVar("W", bound=BaseModel)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # under root, e.g. "/customers/{cid}/deviceBatches"
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Fixed by the caller to make a write idempotent across processes; else one per call.
    request_id: str | None = None
    root: str = API_ROOT  # the API the path is in: API_ROOT or WEBHOOKS_ROOT
    # Seconds this call may take, where the client's default is too short (a long poll).
    timeout: float | None = None


def segment(value: str, what: str) -> str:
    """A URL path segment from a caller's id: refuse empty ones (an empty id would silently
    address the collection instead), percent-encode the rest (batch names have spaces)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if value.strip() in (".", ".."):  # URL resolution would step out of the path instead
        raise ValueError(f"{what} {value.strip()!r} cannot be addressed in a URL")
    return quote(value.strip(), safe="")


def parse_model(response: httpx.Response, model: type[M]) -> M:
    return _validated(response, model)


def parse_collection(response: httpx.Response, item: type[M]) -> ResourceCollection[M]:
    return _validated(response, ResourceCollection[item])  # type: ignore[valid-type]


def parse_strings(response: httpx.Response) -> list[str]:
    """A body that is a JSON list of strings (e.g. the webhook event types)."""
    body = _json(response)
    if not isinstance(body, list) or not all(isinstance(item, str) for item in body):
        raise _unexpected(response, f"is not a list of strings: {response.text[:200]!r}")
    return body


def _validated(response: httpx.Response, model: type[W]) -> W:
    """The body as ``model``; an answer of the wrong shape is the service's fault, so it is
    an UnexpectedResponseError (a PartnerError), not pydantic's ValidationError."""
    try:
        return model.model_validate(_json(response))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise _unexpected(
            response, f"is not a {model.__name__}: {where}: {problem['msg']}"
        ) from exc


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise _unexpected(response, f"is not JSON: {response.text[:200]!r}") from exc


def _unexpected(response: httpx.Response, what: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"{response.status_code} from {response.request.method} {response.request.url} {what}",
        status=response.status_code,
        request_id=response.headers.get("ms-requestid"),
        correlation_id=response.headers.get("ms-correlationid"),
    )
