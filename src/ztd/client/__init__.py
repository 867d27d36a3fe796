"""The Python SDK for Partner Center device deployment (ztd or the real service).

    from ztd.client import PartnerClient

    with PartnerClient(base_url="http://127.0.0.1:8000", token=TOKEN) as partner:
        poller = partner.customers.by_id(cid).device_batches.create(
            batch_id="first batch", devices=[{"hardware_hash": "..."}]
        )
        details = poller.result(timeout=300)

The async client is ``ztd.client.aio.PartnerClient``, with the same chain and ``await``.
"""

from ztd.client._client import PartnerClient
from ztd.client._policies import SETTING_NAMES, to_setting
from ztd.client.credentials import (
    DEFAULT_SCOPE,
    AccessToken,
    ClientCredentials,
    StaticTokenCredential,
    TokenCredential,
)
from ztd.client.errors import (
    BadInputError,
    ConflictError,
    ForbiddenError,
    GatewayTimeoutError,
    HttpResponseError,
    InvalidOperationError,
    NotFoundError,
    PartnerError,
    PayloadTooLargeError,
    PollingTimeoutError,
    RequestTimeoutError,
    ServerBusyError,
    ServerError,
    ServiceRequestError,
    ThrottledError,
    UnauthorizedError,
    UnexpectedResponseError,
    UnsupportedDataFormatError,
)
from ztd.client.poller import BatchUploadPoller
from ztd.client.retry import RetryPolicy
from ztd.client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "DEFAULT_SCOPE",
    "SETTING_NAMES",
    "AccessToken",
    "BadInputError",
    "BatchUploadPoller",
    "ClientCredentials",
    "ConflictError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "HttpResponseError",
    "InvalidOperationError",
    "NotFoundError",
    "PartnerClient",
    "PartnerError",
    "PayloadTooLargeError",
    "PollingTimeoutError",
    "RequestTimeoutError",
    "RetryPolicy",
    "ServerBusyError",
    "ServerError",
    "ServiceRequestError",
    "StaticTokenCredential",
    "ThrottledError",
    "TokenCredential",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnsupportedDataFormatError",
    "WebhookVerificationError",
    "to_setting",
    "verify_webhook",
]
