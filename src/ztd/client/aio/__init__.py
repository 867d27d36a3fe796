"""The async SDK: ``async with PartnerClient(base_url=..., token=...) as partner:`` and the
same fluent chain as the sync client, awaited."""

from ztd.client.aio._client import PartnerClient
from ztd.client.aio.credentials import AsyncTokenCredential, ClientCredentials
from ztd.client.aio.poller import AsyncBatchUploadPoller

__all__ = ["AsyncBatchUploadPoller", "AsyncTokenCredential", "ClientCredentials", "PartnerClient"]
