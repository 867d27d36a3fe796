"""``PartnerClient`` (async): ``async with PartnerClient(...) as partner``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from ztd.client._client import check_auth
from ztd.client._lro import decode_continuation_token
from ztd.client.aio._pipeline import AnyCredential, AsyncPipeline
from ztd.client.aio.operations import CustomerCollectionOperations, WebhookOperations
from ztd.client.aio.poller import AsyncBatchUploadPoller
from ztd.client.credentials import DEFAULT_SCOPE, StaticTokenCredential
from ztd.client.retry import RetryPolicy

__all__ = ["PartnerClient"]


class PartnerClient:
    """The async twin of ``ztd.client.PartnerClient``. ``credential`` may be sync or async
    (``azure.identity.aio``); ``transport`` may be ``httpx.ASGITransport(app=...)``."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        credential: AnyCredential | None = None,
        scopes: Sequence[str] = (DEFAULT_SCOPE,),
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        application_name: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_auth(token, credential)
        if transport is not None and http_client is not None:
            raise TypeError("give transport= or http_client=, not both")
        resolved: AnyCredential = (
            StaticTokenCredential(token) if token is not None else credential  # type: ignore[assignment]
        )
        self._pipeline = AsyncPipeline(
            base_url,
            credential=resolved,
            scopes=tuple(scopes),
            http=http_client or httpx.AsyncClient(transport=transport, timeout=timeout),
            owns_http=http_client is None,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            application_name=application_name,
            refreshable=token is None,
        )
        self.customers = CustomerCollectionOperations(self._pipeline)
        self.webhooks = WebhookOperations(self._pipeline)  # ztd's /webhooks/v1

    @property
    def base_url(self) -> str:
        return self._pipeline.base_url

    def poller_from_continuation_token(self, token: str) -> AsyncBatchUploadPoller:
        return AsyncBatchUploadPoller(self._pipeline, decode_continuation_token(token))

    async def close(self) -> None:
        await self._pipeline.close()

    async def __aenter__(self) -> PartnerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
