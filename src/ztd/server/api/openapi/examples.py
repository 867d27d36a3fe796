"""Request bodies, examples and links: what the wire models cannot say themselves."""

from __future__ import annotations

from typing import Any

from ztd.identity import synthesize_device
from ztd.server.api.openapi import webhook_docs

CUSTOMER_ID = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"
TRACKING_ID = "0127ed8e-ff72-4983-a3d8-e8d8bd378932"
# Real, valid identities (synthetic, deterministic), so the examples work when sent.
_HASHED = synthesize_device(1)
_TUPLE = synthesize_device(2)
_BY_TUPLE = {
    "serialNumber": _TUPLE.serial,
    "oemManufacturerName": _TUPLE.manufacturer,
    "modelName": _TUPLE.model,
}

# The status document of Partner Center's own documentation ("Get the status of a device
# batch upload"), which the service reproduces for a device claimed by another tenant.
BATCH_UPLOAD_DETAILS = {
    "batchTrackingId": TRACKING_ID,
    "status": "finished",
    "startedTime": "2017-07-25T10:00:00Z",
    "completedTime": "2017-07-25T10:10:00Z",
    "devicesStatus": [
        {
            "serialNumber": "1234567890",
            "productKey": "12345-67890-09876-54321-13579",
            "status": "finished_with_errors",
            "errorCode": "808",
            "errorDescription": "ZtdDeviceAssignedToOtherTenant",
            "attributes": {"objectType": "DeviceUploadDetails"},
        }
    ],
    "attributes": {"objectType": "BatchUploadDetails"},
}

POLICY = {
    "id": "15a04610-9229-4e80-94e0-0e826a09c9e2",
    "name": "Skip the EULA",
    "category": "o_o_b_e",
    "description": "Autopilot profile",
    "policySettings": ["skip_eula", "skip_express_settings"],
    "createdDate": "2026-01-05T10:00:00Z",
    "lastModifiedDate": "2026-01-05T10:00:00Z",
    "attributes": {"objectType": "ConfigurationPolicy"},
}

RESPONSE_EXAMPLES: dict[str, Any] = {
    "BatchUploadDetails": BATCH_UPLOAD_DETAILS,
    "ConfigurationPolicy": POLICY,
}

_CASE_NOTE = (
    "Property names are matched ignoring case (the .NET SDK's PascalCase `BatchId`, "
    "`HardwareHash` work as well as camelCase) and unknown properties are ignored."
)

_REQUESTS: dict[str, dict[str, Any]] = {
    "DeviceBatchCreationRequestInput": {
        "description": "A new batch and its devices. " + _CASE_NOTE,
        "examples": {
            "camelCase": {
                "value": {
                    "batchId": "first batch",
                    "devices": [{"hardwareHash": _HASHED.hardware_hash}],
                }
            },
            "PascalCase (.NET SDK)": {
                "value": {
                    "BatchId": "second batch",
                    "Devices": [
                        {
                            "SerialNumber": _TUPLE.serial,
                            "OemManufacturerName": _TUPLE.manufacturer,
                            "ModelName": _TUPLE.model,
                        }
                    ],
                }
            },
        },
    },
    "DeviceUpload": {
        "description": "Devices to add: a bare array (the .NET SDK) or `{devices: [...]}` (the "
        "REST reference). " + _CASE_NOTE,
        "examples": {
            "array": {"value": [_BY_TUPLE]},
            "object": {"value": {"devices": [{"hardwareHash": _HASHED.hardware_hash}]}},
        },
    },
    "DevicePolicyUpdateRequestInput": {
        "description": "Devices (by id) and the policies to assign; value null removes. "
        + _CASE_NOTE,
        "examples": {
            "assign": {
                "value": {
                    "devices": [
                        {
                            "id": "9993-8627-3608-6844-6369-4361-72",
                            "policies": [{"key": "o_o_b_e", "value": POLICY["id"]}],
                        }
                    ]
                }
            }
        },
    },
    "ConfigurationPolicyInput": {
        "description": "The policy (name required; a missing or `none` category becomes "
        "`o_o_b_e`). " + _CASE_NOTE,
        "examples": {
            "policy": {"value": {"name": "Skip the EULA", "policySettings": ["skip_eula"]}}
        },
    },
    "DeviceInput": {
        "description": "The device as read (the .NET SDK sends it whole); only `policies` is "
        "applied: an `o_o_b_e` entry with a policy id assigns it, one without a value removes "
        "the device's policy, no `policies` leaves it. " + _CASE_NOTE,
        "examples": {
            "assign": {"value": {"policies": [{"key": "o_o_b_e", "value": POLICY["id"]}]}}
        },
    },
    "CustomerInput": {
        "description": "billingProfile.companyName or companyProfile.domain is required. "
        + _CASE_NOTE,
        "examples": {"customer": {"value": {"companyProfile": {"domain": "contoso.example"}}}},
    },
}


def request_body(schema: str) -> dict[str, Any]:
    if schema == "TokenRequest":
        return {
            "required": True,
            "description": "client_secret_post, or the client id and secret as HTTP Basic.",
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/TokenRequest"}
                }
            },
        }
    extra = _REQUESTS.get(schema) or webhook_docs.REQUESTS[schema]
    return {
        "required": extra.get("required", True),
        "description": extra["description"],
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                "examples": extra["examples"],
            }
        },
    }


EXTRA_SCHEMAS: dict[str, Any] = {
    "DeviceUpload": {
        "oneOf": [
            {"type": "array", "items": {"$ref": "#/components/schemas/DeviceInput"}},
            {
                "type": "object",
                "properties": {
                    "devices": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/DeviceInput"},
                    }
                },
                "required": ["devices"],
            },
        ]
    },
    "TokenRequest": {
        "type": "object",
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
        },
        "required": ["grant_type"],
    },
    "Status": {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": ["ok", "ready"]}},
        "required": ["status"],
    },
    "OpenIdConfiguration": {
        "type": "object",
        "properties": {
            "issuer": {"type": "string"},
            "jwks_uri": {"type": "string"},
            "token_endpoint": {"type": "string"},
            "grant_types_supported": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["issuer", "jwks_uri", "token_endpoint"],
    },
    "Jwks": {
        "type": "object",
        "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
        "required": ["keys"],
    },
}

# The tracking id is the last segment of Location (a relative path without /v1).
_TRACKING = "$response.header.Location#regex:/batchJobStatus/(.+)$"

JOB_LINKS: dict[str, Any] = {
    "BatchUploadStatus": {
        "operationId": "BatchUploadStatus_Get",
        "description": "The job's status: the tracking id is the last segment of Location.",
        "parameters": {"customer_id": "$request.path.customer_id", "tracking_id": _TRACKING},
    }
}

BATCH_LINKS: dict[str, Any] = {
    "Devices": {
        "operationId": "Devices_Get",
        "description": "The new batch's devices.",
        "parameters": {
            "customer_id": "$request.path.customer_id",
            "batch_id": "$request.body#/batchId",
        },
    }
}

DEVICE_LINKS: dict[str, Any] = {
    "DeleteDevice": {
        "operationId": "Device_Delete",
        "description": "Delete the page's first device.",
        "parameters": {
            "customer_id": "$request.path.customer_id",
            "batch_id": "$request.path.batch_id",
            "device_id": "$response.body#/items/0/id",
        },
    }
}
