"""Every operation of the API, keyed by its route's method and path: the .NET SDK's name for
it, its tag, what it answers on success and which errors it can give. The document is built
from this table and the app's routes; a route missing here fails the build (and a test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Which caller the route lets in: decides 401/403 and the security requirement.
PUBLIC, READER, WRITER, BATCH_CREATOR, CLIENT = "public", "reader", "writer", "creator", "client"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    tag: str
    summary: str
    success: int
    access: str
    body: str | None = None  # a components schema name, or a key of BODIES below
    returns: str | None = None  # the success body's schema name (None: empty body)
    headers: tuple[str, ...] = ()  # extra request headers (beyond MS-RequestId/CorrelationId)
    query: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()  # beyond those the access level and path imply
    job: bool = False  # answers 202 with a Location to poll (links to BatchUploadStatus_Get)
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_CID = "/v1/customers/{customer_id}"

OPERATIONS: dict[str, Operation] = {
    "GET /healthz": Operation("Health_Get", "Service", "Liveness", 200, PUBLIC, returns="Status"),
    "GET /readyz": Operation(
        "Readiness_Get",
        "Service",
        "Readiness (database reachable)",
        200,
        PUBLIC,
        returns="Status",
        errors=(503,),
    ),
    "GET /.well-known/openid-configuration": Operation(
        "OpenIdConfiguration_Get",
        "Identity",
        "The built-in issuer's discovery document",
        200,
        PUBLIC,
        returns="OpenIdConfiguration",
    ),
    "GET /.well-known/jwks.json": Operation(
        "Jwks_Get", "Identity", "The built-in issuer's signing keys", 200, PUBLIC, returns="Jwks"
    ),
    "POST /oauth2/token": Operation(
        "Token_Create",
        "Identity",
        "OAuth 2.0 client credentials grant",
        200,
        CLIENT,
        body="TokenRequest",
        returns="TokenResponse",
    ),
    "GET /v1/customers": Operation(
        "Customers_Get",
        "Customers",
        "The calling partner's customers, a page at a time",
        200,
        READER,
        returns="CustomerCollection",
        headers=("MS-ContinuationToken",),
        query=("size",),
    ),
    "POST /v1/customers": Operation(
        "Customers_Create",
        "Customers",
        "Create a customer of the calling partner",
        201,
        WRITER,
        body="CustomerInput",
        returns="Customer",
        errors=(409,),
    ),
    "GET /v1/customers/{customer_id}": Operation(
        "Customer_Get",
        "Customers",
        "A customer of the calling partner",
        200,
        READER,
        returns="Customer",
    ),
    f"GET {_CID}/profiles/company": Operation(
        "CustomerProfiles_Company_Get",
        "Customers",
        "A customer's company profile (its links.self)",
        200,
        READER,
        returns="CustomerCompanyProfile",
    ),
    f"POST {_CID}/deviceBatches": Operation(
        "DeviceBatches_Create",
        "DeviceBatches",
        "Create a device batch with its devices (a job)",
        202,
        BATCH_CREATOR,
        body="DeviceBatchCreationRequestInput",
        errors=(409,),
        job=True,
        description="409 when a batch of that id exists. App-only tokens need "
        "ZTD_ALLOW_APP_ONLY_BATCH_CREATE.",
    ),
    f"GET {_CID}/deviceBatches": Operation(
        "DeviceBatches_Get",
        "DeviceBatches",
        "The customer's device batches",
        200,
        READER,
        returns="DeviceBatchCollection",
    ),
    f"POST {_CID}/deviceBatches/{{batch_id}}/devices": Operation(
        "Devices_Create",
        "Devices",
        "Add devices to a batch (a job)",
        202,
        WRITER,
        body="DeviceUpload",
        errors=(409,),
        job=True,
    ),
    f"GET {_CID}/deviceBatches/{{batch_id}}/devices": Operation(
        "Devices_Get",
        "Devices",
        "A batch's devices, a page at a time",
        200,
        READER,
        returns="DeviceCollection",
        headers=("MS-ContinuationToken",),
        query=("continuationToken", "search", "policy"),
    ),
    f"GET {_CID}/deviceBatches/{{batch_id}}": Operation(
        "DeviceBatch_Get",
        "DeviceBatches",
        "A device batch (its links.self)",
        200,
        READER,
        returns="DeviceBatch",
    ),
    f"GET {_CID}/deviceBatches/{{batch_id}}/devices/{{device_id}}": Operation(
        "Device_Get",
        "Devices",
        "A device, with its hardware hash (its links.self)",
        200,
        READER,
        returns="Device",
    ),
    f"PUT {_CID}/deviceBatches/{{batch_id}}/devices/{{device_id}}": Operation(
        "Device_Patch",
        "Devices",
        "Update a device's policies (the .NET SDK's IDevice.Patch sends PUT)",
        200,
        WRITER,
        body="DeviceInput",
        returns="Device",
        errors=(409,),
        description="What a partner may change on a device is its policies; the other "
        "properties of the body are ignored. A policy of another customer or partner is 400.",
    ),
    f"PATCH {_CID}/deviceBatches/{{batch_id}}/devices/{{device_id}}": Operation(
        "Device_Update",
        "Devices",
        "Update a device's policies (the same as PUT)",
        200,
        WRITER,
        body="DeviceInput",
        returns="Device",
        errors=(409,),
    ),
    f"DELETE {_CID}/deviceBatches/{{batch_id}}/devices/{{device_id}}": Operation(
        "Device_Delete", "Devices", "Delete a device", 204, WRITER, errors=(409,)
    ),
    f"PATCH {_CID}/DevicePolicyUpdates": Operation(
        "DevicePolicy_Update",
        "DevicePolicy",
        "Assign or remove policies on devices (a job; per device 807, 809, 810)",
        202,
        WRITER,
        body="DevicePolicyUpdateRequestInput",
        errors=(409,),
        job=True,
    ),
    f"GET {_CID}/batchJobStatus/{{tracking_id}}": Operation(
        "BatchUploadStatus_Get",
        "BatchUploadStatus",
        "A job's status, device by device",
        200,
        READER,
        returns="BatchUploadDetails",
        headers=("If-None-Match",),
    ),
    f"GET {_CID}/policies": Operation(
        "ConfigurationPolicies_Get",
        "ConfigurationPolicies",
        "The customer's policies",
        200,
        READER,
        returns="ConfigurationPolicyCollection",
    ),
    f"POST {_CID}/policies": Operation(
        "ConfigurationPolicies_Create",
        "ConfigurationPolicies",
        "Create a policy (answers 200, as Partner Center does)",
        200,
        WRITER,
        body="ConfigurationPolicyInput",
        returns="ConfigurationPolicy",
        errors=(409,),
    ),
    f"GET {_CID}/policies/{{policy_id}}": Operation(
        "ConfigurationPolicy_Get",
        "ConfigurationPolicies",
        "A policy",
        200,
        READER,
        returns="ConfigurationPolicy",
    ),
    f"PUT {_CID}/policies/{{policy_id}}": Operation(
        "ConfigurationPolicy_Patch",
        "ConfigurationPolicies",
        "Replace a policy's name, description and settings (id and category are kept)",
        200,
        WRITER,
        body="ConfigurationPolicyInput",
        returns="ConfigurationPolicy",
        errors=(409,),
    ),
    f"DELETE {_CID}/policies/{{policy_id}}": Operation(
        "ConfigurationPolicy_Delete",
        "ConfigurationPolicies",
        "Delete a policy and unassign it from its devices",
        204,
        WRITER,
        errors=(409,),
    ),
}
