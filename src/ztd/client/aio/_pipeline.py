"""Sending one logical call (async); the same rules as ``ztd.client._pipeline``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

import httpx
import orjson

from ztd.client._pipeline_base import CallIds, PipelineBase
from ztd.client._request import ApiRequest
from ztd.client.aio.credentials import AsyncTokenCredential
from ztd.client.credentials import AccessTokenLike, BearerTokenCache, TokenCredential
from ztd.client.errors import ServiceRequestError
from ztd.client.retry import RetryPolicy

AnyCredential = TokenCredential | AsyncTokenCredential


class AsyncPipeline(PipelineBase):
    def __init__(
        self,
        base_url: str,
        *,
        credential: AnyCredential,
        scopes: tuple[str, ...],
        http: httpx.AsyncClient,
        owns_http: bool,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        application_name: str | None,
        refreshable: bool,
    ) -> None:
        super().__init__(base_url, retry, application_name)
        self._credential = credential
        self._tokens = BearerTokenCache(scopes)
        self._http = http
        self._owns_http = owns_http
        self.sleep = sleep
        self.clock = clock
        self._refreshable = refreshable

    async def send(self, request: ApiRequest) -> httpx.Response:
        ids = CallIds.for_request(request)
        content = None if request.json is None else orjson.dumps(request.json)
        attempt = 0
        reauthenticated = False
        while True:
            headers = self.headers(request, ids, await self._token())
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = await self._http.request(
                    request.method,
                    self.url(request),
                    content=content,
                    headers=headers,
                    timeout=self.timeout(request, self._http.timeout),
                )
            except httpx.TransportError as exc:
                delay = self.retry.after_error(attempt, exc)
                if delay is None:
                    raise ServiceRequestError(
                        self.unreachable_message(request, exc, attempt + 1),
                        request_id=ids.request_id,
                        correlation_id=ids.correlation_id,
                    ) from exc
                attempt += 1
                await self.sleep(delay)
                continue
            if response.status_code < 400:
                return response
            if response.status_code == 401 and self._refreshable and not reauthenticated:
                reauthenticated = True
                self._tokens.invalidate()
                continue
            delay = self.retry_delay(attempt, response)
            if delay is None:
                raise self.failure(response, ids)
            attempt += 1
            await self.sleep(delay)

    async def _token(self) -> str:
        token = self._tokens.current()
        if token is None:
            # azure.identity.aio credentials return a coroutine; sync ones a token.
            result: AccessTokenLike | Awaitable[AccessTokenLike] = self._credential.get_token(
                *self._tokens.scopes
            )
            if inspect.isawaitable(result):
                result = await result
            token = self._tokens.store(result)
        return token

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
