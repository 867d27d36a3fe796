"""``PartnerClient``: the sync entry point of the SDK."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import httpx

from ztd.client._lro import decode_continuation_token
from ztd.client._pipeline import Pipeline
from ztd.client.credentials import DEFAULT_SCOPE, StaticTokenCredential, TokenCredential
from ztd.client.operations import CustomerCollectionOperations, WebhookOperations
from ztd.client.poller import BatchUploadPoller
from ztd.client.retry import RetryPolicy

__all__ = ["PartnerClient"]


def check_auth(token: str | None, credential: object | None) -> None:
    if (token is None) == (credential is None):
        raise TypeError("give exactly one of token= (a bearer token) or credential=")
    if credential is not None and not callable(getattr(credential, "get_token", None)):
        raise TypeError("credential must have a get_token(*scopes) method")


class PartnerClient:
    """A Partner Center device-deployment client, for ztd or the real service.

    ``PartnerClient(base_url="https://api.partnercenter.microsoft.com", credential=cred)``
    where ``cred`` is any azure-identity credential, or ``token="..."`` for a fixed bearer
    token. ``transport`` or ``http_client`` replace the network (tests: an ASGI app);
    ``sleep`` and ``clock`` replace time for retries and polling.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        credential: TokenCredential | None = None,
        scopes: Sequence[str] = (DEFAULT_SCOPE,),
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        application_name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_auth(token, credential)
        if transport is not None and http_client is not None:
            raise TypeError("give transport= or http_client=, not both")
        resolved: TokenCredential = (
            StaticTokenCredential(token) if token is not None else credential  # type: ignore[assignment]
        )
        self._pipeline = Pipeline(
            base_url,
            credential=resolved,
            scopes=tuple(scopes),
            http=http_client or httpx.Client(transport=transport, timeout=timeout),
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

    def poller_from_continuation_token(self, token: str) -> BatchUploadPoller:
        """Resume polling a job from ``poller.continuation_token()``."""
        return BatchUploadPoller(self._pipeline, decode_continuation_token(token))

    def close(self) -> None:
        self._pipeline.close()

    def __enter__(self) -> PartnerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
