"""What the sync and async pipelines share: URLs, Partner Center's request headers, and
turning a final response into a result or an exception."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import httpx

from ztd.client._request import API_ROOT, ApiRequest
from ztd.client.errors import error_from_response
from ztd.client.retry import RetryPolicy, parse_retry_after


def _sdk_version() -> str:
    try:
        return version("ztd")
    except PackageNotFoundError:
        return "0"


API_VERSION_PREFIX = API_ROOT
USER_AGENT = f"ztd-python/{_sdk_version()} httpx/{httpx.__version__}"
CLIENT_NAME = "ztd Python SDK"


def normalize_base_url(base_url: str) -> str:
    """``https://host[/prefix]`` without a trailing slash or a trailing ``/v1``."""
    if not base_url or "://" not in base_url:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    url = base_url.rstrip("/")
    if url.lower().endswith(API_VERSION_PREFIX):
        url = url[: -len(API_VERSION_PREFIX)]
    try:  # now, not at the first request, where it would be httpx's own error
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url {base_url!r} is not a valid URL: {exc}") from None
    return url


@dataclass(frozen=True)
class CallIds:
    """The ids of one logical call: the same on every retry of it."""

    request_id: str
    correlation_id: str

    @classmethod
    def for_request(cls, request: ApiRequest) -> CallIds:
        return cls(request.request_id or str(uuid.uuid4()), str(uuid.uuid4()))


class PipelineBase:
    def __init__(self, base_url: str, retry: RetryPolicy, application_name: str | None) -> None:
        self.base_url = normalize_base_url(base_url)
        self.retry = retry
        self.application_name = application_name

    def url(self, request: ApiRequest) -> str:
        return self.base_url + request.root + request.path

    def timeout(self, request: ApiRequest, default: httpx.Timeout) -> httpx.Timeout:
        """The request's own timeout (a long poll), else ``default`` (the HTTP client's)."""
        return default if request.timeout is None else httpx.Timeout(request.timeout)

    def headers(self, request: ApiRequest, ids: CallIds, token: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "MS-RequestId": ids.request_id,
            "MS-CorrelationId": ids.correlation_id,
            "MS-PartnerCenter-Client": CLIENT_NAME,
            "User-Agent": USER_AGENT,
        }
        if self.application_name:
            headers["MS-PartnerCenter-Application"] = self.application_name
        headers.update(request.headers)
        return headers

    def retry_delay(self, attempt: int, response: httpx.Response) -> float | None:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return self.retry.after_status(attempt, response.status_code, retry_after)

    def failure(self, response: httpx.Response, ids: CallIds) -> Exception:
        return error_from_response(
            response,
            request_id=ids.request_id,
            correlation_id=ids.correlation_id,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )

    def unreachable_message(self, request: ApiRequest, error: Exception, attempts: int) -> str:
        what = type(error).__name__
        detail = str(error) or what
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return f"cannot reach {self.base_url} ({request.method} {request.path}){tries}: {detail}"
