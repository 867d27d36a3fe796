"""Async credentials: ``ClientCredentials`` for ztd's built-in issuer, and the protocol
azure-identity's ``azure.identity.aio`` credentials follow. The async client also accepts
the sync credentials of ``ztd.client.credentials``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import httpx

from ztd.client.credentials import (
    AccessToken,
    AccessTokenLike,
    parse_token_response,
    token_request,
    token_url,
)
from ztd.client.errors import ServiceRequestError

__all__ = ["AsyncTokenCredential", "ClientCredentials"]


@runtime_checkable
class AsyncTokenCredential(Protocol):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike: ...


class ClientCredentials:
    """Tokens from ztd's built-in issuer (``POST {base_url}/oauth2/token``), async."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._url = token_url(base_url)
        self._form = token_request(client_id, client_secret)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=timeout)
        self._now = now

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            response = await self._http.post(self._url, data=self._form)
        except httpx.TransportError as exc:
            raise ServiceRequestError(
                f"cannot reach the token endpoint {self._url}: {exc}"
            ) from exc
        return parse_token_response(response, self._now())

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ClientCredentials:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
