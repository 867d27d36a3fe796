"""The document's components: resource schemas generated from the wire models (the single
source of what travels), the Partner Center error body, shared headers and security."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from ztd.wire import (
    BatchUploadDetails,
    ConfigurationPolicy,
    Customer,
    Device,
    DeviceBatch,
    DeviceBatchCreationRequest,
    DevicePolicyUpdateRequest,
    ResourceCollection,
)

REF = "#/components/schemas/{model}"


# Documentation-only models: the routes parse these bodies by hand (the hot paths must not
# pay for a model validation), so nothing here is ever validated at run time.
class DeviceBatchCollection(ResourceCollection[DeviceBatch]):
    pass


class DeviceCollection(ResourceCollection[Device]):
    pass


class ConfigurationPolicyCollection(ResourceCollection[ConfigurationPolicy]):
    pass


class CustomerCollection(ResourceCollection[Customer]):
    pass


class PartnerCenterError(BaseModel):
    """Every error answer of the API (OAuth's token endpoint excepted)."""

    code: str = Field(description="Partner Center's error code, e.g. 800002, 900118, 60003.")
    description: str = Field(description="What is wrong, and where.")
    data: list[Any] = Field(description="Details, e.g. one entry per invalid field or device.")
    source: str = Field(description="Always PartnerApiServiceControllers.")


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error body of the token endpoint."""

    error: str
    error_description: str


class TokenResponse(BaseModel):
    token_type: str = "Bearer"
    access_token: str
    expires_in: int


# Responses are described as the server writes them (camelCase, nulls left out); requests
# as it reads them (any case; see the request bodies' descriptions).
_SERIALIZED: tuple[type[BaseModel], ...] = (
    BatchUploadDetails,
    ConfigurationPolicy,
    Customer,
    DeviceBatch,
    DeviceBatchCollection,
    DeviceCollection,
    ConfigurationPolicyCollection,
    CustomerCollection,
    PartnerCenterError,
    OAuthError,
    TokenResponse,
)
_REQUESTS: tuple[type[BaseModel], ...] = (
    DeviceBatchCreationRequest,
    DevicePolicyUpdateRequest,
    Device,
    ConfigurationPolicy,
    Customer,
)
REQUEST_SUFFIX = "Input"


def schemas() -> dict[str, Any]:
    """Response schemas under the models' names, request schemas with an ``Input`` suffix."""
    _keys, out = models_json_schema([(m, "serialization") for m in _SERIALIZED], ref_template=REF)
    _keys, inp = models_json_schema(
        [(m, "validation") for m in _REQUESTS], ref_template=REF + REQUEST_SUFFIX
    )
    requests = {name + REQUEST_SUFFIX: _lenient(s) for name, s in inp["$defs"].items()}
    return dict(out["$defs"]) | requests


def _lenient(schema: dict[str, Any]) -> dict[str, Any]:
    """Requests' enums are read as .NET reads them: ignoring case, and an unknown string as
    the first value. Say so, rather than claim an unknown value is refused."""
    if "enum" not in schema:
        return schema
    values = ", ".join(schema["enum"])
    return {
        "title": schema.get("title"),
        "type": "string",
        "examples": schema["enum"],
        "description": f"One of {values}, matched ignoring case; any other string reads as "
        f"{schema['enum'][0]}.",
    }


HEADERS: dict[str, Any] = {
    "MS-CorrelationId": {
        "description": "The request's MS-CorrelationId, echoed (generated when absent).",
        "required": True,
        "schema": {"type": "string"},
    },
    "MS-RequestId": {
        "description": "The request's MS-RequestId, echoed (generated when absent).",
        "required": True,
        "schema": {"type": "string"},
    },
    "MS-CV": {
        "description": "Correlation vector.",
        "required": True,
        "schema": {"type": "string"},
    },
    "MS-ServerId": {
        "description": "The answering server (ZTD_SERVER_ID).",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {
        "description": (
            "The job's status, relative and without /v1: "
            "/customers/{customer-id}/batchJobStatus/{tracking-id}. Poll "
            "GET /v1/customers/{customer-id}/batchJobStatus/{tracking-id}."
        ),
        "required": True,
        "schema": {"type": "string", "pattern": "^/customers/[^/]+/batchJobStatus/[^/]+$"},
    },
    "ETag": {
        "description": "A finished job's document version; send it back in If-None-Match.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before polling again (jobs still running).",
        "required": False,
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "The scheme the API expects.",
        "required": True,
        "schema": {"type": "string"},
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A JWT from the built-in issuer (`ztd admin token --partner ID`, or the "
            "client-credentials grant at /oauth2/token) or from a trusted external issuer "
            "(ZTD_TRUSTED_ISSUERS)."
        ),
    },
    "clientCredentials": {
        "type": "oauth2",
        "description": "The built-in issuer's client credentials (`ztd admin app add`).",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth2/token", "scopes": {}}},
    },
}
