"""Partner Center device-deployment resources exactly as they travel on the wire.

Shared by the server (parsing requests) and the SDK (typed results). Reading is
case-insensitive and ignores unknown properties; writing is camelCase with ``null`` left out.
"""

from ztd.wire.base import ResourceAttributes, WireModel, dump_wire
from ztd.wire.customers import Customer, CustomerBillingProfile, CustomerCompanyProfile
from ztd.wire.enums import DeviceUploadStatusType, PolicyCategory, PolicySettingsType
from ztd.wire.resources import (
    BatchUploadDetails,
    ConfigurationPolicy,
    Device,
    DeviceBatch,
    DeviceBatchCreationRequest,
    DevicePolicyUpdateRequest,
    DeviceUploadDetails,
    KeyValuePair,
    Link,
    ResourceCollection,
    ResourceLinks,
)
from ztd.wire.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookRegistration,
    WebhookRegistrationRequest,
    WebhookReplay,
    WebhookReplaySkipped,
    WebhookTestEvents,
)

__all__ = [
    "BatchUploadDetails",
    "ConfigurationPolicy",
    "Customer",
    "CustomerBillingProfile",
    "CustomerCompanyProfile",
    "Device",
    "DeviceBatch",
    "DeviceBatchCreationRequest",
    "DevicePolicyUpdateRequest",
    "DeviceUploadDetails",
    "DeviceUploadStatusType",
    "KeyValuePair",
    "Link",
    "PolicyCategory",
    "PolicySettingsType",
    "ResourceAttributes",
    "ResourceCollection",
    "ResourceLinks",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookRegistration",
    "WebhookRegistrationRequest",
    "WebhookReplay",
    "WebhookReplaySkipped",
    "WebhookTestEvents",
    "WireModel",
    "dump_wire",
]
