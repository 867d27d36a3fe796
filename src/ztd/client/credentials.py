"""Where bearer tokens come from.

A credential is anything with ``get_token(*scopes)`` returning an object with ``.token`` and
``.expires_on`` (epoch seconds): the azure-identity protocol, so ``ClientSecretCredential``,
``DefaultAzureCredential`` and friends work as they are. ``ClientCredentials`` is ztd's own,
for the built-in issuer's OAuth2 client-credentials endpoint. ``BearerTokenCache`` keeps the
current token and asks for a new one shortly before it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import httpx

from ztd.client._pipeline_base import normalize_base_url
from ztd.client.errors import ServiceRequestError, UnauthorizedError, error_from_response

__all__ = [
    "DEFAULT_SCOPE",
    "AccessToken",
    "AccessTokenLike",
    "BearerTokenCache",
    "ClientCredentials",
    "StaticTokenCredential",
    "TokenCredential",
]

DEFAULT_SCOPE = "https://api.partnercenter.microsoft.com/.default"
TOKEN_PATH = "/oauth2/token"
# Ask for a new token this long before the current one expires (azure-core uses 300 s too).
REFRESH_MARGIN_SECONDS = 300.0


class AccessTokenLike(Protocol):
    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


class AccessToken(NamedTuple):
    token: str
    expires_on: int


@runtime_checkable
class TokenCredential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike: ...


class StaticTokenCredential:
    """A fixed bearer token (``PartnerClient(token=...)``); it is never refreshed."""

    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise ValueError("token is empty")
        self._token = AccessToken(token.strip(), 2**62)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._token


class BearerTokenCache:
    """The current token of one credential; refreshed when it is close to expiry."""

    def __init__(
        self,
        scopes: tuple[str, ...],
        *,
        now: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.scopes = scopes
        self._now = now
        self._margin = margin
        self._token: AccessTokenLike | None = None
        self._token_margin = margin

    def current(self) -> str | None:
        """The cached token if it is still comfortably valid, else None (fetch a new one)."""
        if self._token is None or self._token.expires_on - self._now() <= self._token_margin:
            return None
        return self._token.token

    def store(self, token: AccessTokenLike) -> str:
        self._token = token
        # A short-lived token (an issuer set to 5 minutes) is used for half its life, not
        # refreshed on every call because its whole life is within the usual margin.
        lifetime = token.expires_on - self._now()
        self._token_margin = min(self._margin, max(0.0, lifetime / 2))
        return token.token

    def invalidate(self) -> None:
        self._token = None


def token_request(client_id: str, client_secret: str) -> dict[str, str]:
    """The form of an OAuth2 client-credentials grant."""
    if not client_id or not client_secret:
        raise ValueError("client_id and client_secret are required")
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
    }


def parse_token_response(response: httpx.Response, now: float) -> AccessToken:
    """An ``AccessToken`` from the token endpoint's answer; UnauthorizedError when the
    credentials are refused, ServerError or ThrottledError when the issuer is in trouble."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code >= 500 or response.status_code == 429:
        # The issuer's own trouble, not the credentials': say so (and let it be retried).
        raise error_from_response(response)
    if response.status_code != 200 or not isinstance(body.get("access_token"), str):
        error = str(body["error"]) if body.get("error") else None
        reason = str(body.get("error_description") or response.text.strip() or "")
        detail = ": ".join(p for p in (error, reason) if p) or "no access_token in the answer"
        raise UnauthorizedError(
            f"{response.status_code} from the token endpoint {response.request.url}: {detail}",
            status=response.status_code,
            code=error,
            description=reason or None,
        )
    expires_in = body.get("expires_in", 3600)
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError):
        lifetime = 3600.0
    return AccessToken(body["access_token"], int(now + lifetime))


def token_url(base_url: str) -> str:
    """The issuer's token endpoint under the service root, as the API calls see it: a base
    URL given with its /v1 (which the client accepts) must not end up in front of it."""
    return normalize_base_url(base_url) + TOKEN_PATH


class ClientCredentials:
    """Tokens from ztd's built-in issuer: ``POST {base_url}/oauth2/token`` with the
    client-credentials grant. Scopes are accepted for protocol compatibility and not sent."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = 30.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._url = token_url(base_url)
        self._form = token_request(client_id, client_secret)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)
        self._now = now

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            response = self._http.post(self._url, data=self._form)
        except httpx.TransportError as exc:
            raise ServiceRequestError(
                f"cannot reach the token endpoint {self._url}: {exc}"
            ) from exc
        return parse_token_response(response, self._now())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ClientCredentials:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
