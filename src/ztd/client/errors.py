"""One exception hierarchy for every failure the SDK reports, rooted in ``PartnerError``.

The classes follow the .NET SDK's error categories and separate "the request
never got an answer" (``ServiceRequestError``) from "the service answered with an error"
(``HttpResponseError`` and its per-status subclasses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ztd.wire import BatchUploadDetails

__all__ = [
    "BadInputError",
    "ConflictError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "HttpResponseError",
    "InvalidOperationError",
    "NotFoundError",
    "PartnerError",
    "PayloadTooLargeError",
    "PollingTimeoutError",
    "RequestTimeoutError",
    "ServerBusyError",
    "ServerError",
    "ServiceRequestError",
    "ThrottledError",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnsupportedDataFormatError",
    "error_from_response",
]


class PartnerError(Exception):
    """Base of every SDK error. Fields are ``None`` when the failure had no response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
        data: list[Any] | None = None,
        source: str | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.description = description
        self.data = data or []
        self.source = source
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.retry_after = retry_after


class ServiceRequestError(PartnerError):
    """No answer: connection refused, DNS failure, timeout, broken connection (after retries)."""


class HttpResponseError(PartnerError):
    """The service answered with an error status."""


class BadInputError(HttpResponseError):
    """400: the request was malformed or named an invalid value."""


class UnauthorizedError(HttpResponseError):
    """401: no token, or the token was rejected."""


class ForbiddenError(HttpResponseError):
    """403: the caller's role or token type may not do this."""


class NotFoundError(HttpResponseError):
    """404: no such customer (or not yours), batch, device or tracking id."""


class InvalidOperationError(HttpResponseError):
    """405: the method is not allowed on this resource."""


class UnsupportedDataFormatError(HttpResponseError):
    """406 or 415: the body or the accepted type is not JSON."""


class RequestTimeoutError(HttpResponseError):
    """408: the service timed out waiting for the request (retried before being raised)."""


class ConflictError(HttpResponseError):
    """409: the resource already exists (e.g. a batch with that name), or an idempotency clash."""


class PayloadTooLargeError(HttpResponseError):
    """413: the body is over the service's limit."""


class ThrottledError(HttpResponseError):
    """429: too many requests; ``retry_after`` says how many seconds to wait."""


class ServerError(HttpResponseError):
    """5xx (and any status without a closer category): the service failed."""


class ServerBusyError(ServerError):
    """503."""


class GatewayTimeoutError(ServerError):
    """504."""


class UnexpectedResponseError(PartnerError):
    """A success status whose content the SDK cannot use (no Location, body not JSON...)."""


class PollingTimeoutError(PartnerError):
    """A long-running operation was still unfinished when the caller's timeout expired.

    ``last_status`` is the last ``BatchUploadDetails`` read (``None`` if no read succeeded);
    ``continuation_token`` resumes polling later, in this process or another.
    """

    def __init__(
        self,
        message: str,
        *,
        tracking_id: str,
        last_status: BatchUploadDetails | None,
        continuation_token: str,
    ) -> None:
        super().__init__(message)
        self.tracking_id = tracking_id
        self.last_status = last_status
        self.continuation_token = continuation_token


_BY_STATUS: dict[int, tuple[type[HttpResponseError], str]] = {
    400: (BadInputError, "Bad request"),
    401: (UnauthorizedError, "Unauthorized"),
    403: (ForbiddenError, "Forbidden"),
    404: (NotFoundError, "Not found"),
    405: (InvalidOperationError, "Method not allowed"),
    406: (UnsupportedDataFormatError, "Not acceptable"),
    408: (RequestTimeoutError, "Request timeout"),
    409: (ConflictError, "Conflict"),
    413: (PayloadTooLargeError, "Payload too large"),
    415: (UnsupportedDataFormatError, "Unsupported media type"),
    429: (ThrottledError, "Too many requests"),
    503: (ServerBusyError, "Service unavailable"),
    504: (GatewayTimeoutError, "Gateway timeout"),
}


def error_from_response(
    response: httpx.Response,
    *,
    request_id: str | None = None,
    correlation_id: str | None = None,
    retry_after: float | None = None,
) -> HttpResponseError:
    """The exception for an error response, from Partner Center's ``{code, description,
    data, source}`` body or the API gateway's ``{statusCode, message}`` (429)."""
    status = response.status_code
    # An unmapped status (412, 422 ...) is the client's problem unless it is a 5xx.
    fallback = ServerError if status >= 500 else HttpResponseError
    cls, reason = _BY_STATUS.get(status, (fallback, response.reason_phrase or "Error"))
    body = _json_object(response)
    code = _text(body.get("code"))
    description = _text(body.get("description")) or _text(body.get("message"))
    if description is None:
        raw = response.text.strip()
        description = raw[:1024] if raw else None
    data = body.get("data")
    request_id = response.headers.get("ms-requestid") or request_id
    correlation_id = response.headers.get("ms-correlationid") or correlation_id
    message = f"{status} {reason}"
    if code is not None:
        message += f" (code {code})"
    if description:
        message += f": {description}"
    if request_id:
        message += f" [MS-RequestId {request_id}]"
    return cls(
        message,
        status=status,
        code=code,
        description=description,
        data=data if isinstance(data, list) else None,
        source=_text(body.get("source")),
        request_id=request_id,
        correlation_id=correlation_id,
        retry_after=retry_after,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
