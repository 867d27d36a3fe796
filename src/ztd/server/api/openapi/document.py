"""Builds the OpenAPI 3.1 document from the app's routes, the operations table and the wire
models. Nothing in it is kept by hand apart from what the code cannot say (names, prose)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from ztd.server.api.openapi import examples, webhook_docs
from ztd.server.api.openapi.components import HEADERS, SECURITY_SCHEMES, schemas
from ztd.server.api.openapi.operations import (
    BATCH_CREATOR,
    CLIENT,
    OPERATIONS,
    PUBLIC,
    Operation,
)

ERROR = {"$ref": "#/components/schemas/PartnerCenterError"}
COMMON_HEADERS = ("MS-CorrelationId", "MS-RequestId", "MS-CV", "MS-ServerId")
_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

TAGS = [
    {"name": "DeviceBatches", "description": "E1, E3: batches of Autopilot devices"},
    {"name": "Devices", "description": "E2, E4, E5: a batch's devices"},
    {"name": "BatchUploadStatus", "description": "E7: the status of an upload or policy job"},
    {"name": "DevicePolicy", "description": "E6: assigning policies to devices"},
    {"name": "ConfigurationPolicies", "description": "E8-E12: Autopilot profiles"},
    {"name": "Customers", "description": "The calling partner's customers"},
    {"name": "Identity", "description": "The built-in token issuer"},
    {"name": "Service", "description": "Health and readiness"},
    {
        "name": "Emulator",
        "description": "ztd's control plane for tests (operator tokens only; docs/testing.md)",
    },
]

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "customer_id": {
        "description": "The customer's tenant id, a GUID (anything else: 400 900118).",
        "schema": {"type": "string", "format": "uuid"},
        "example": examples.CUSTOMER_ID,
    },
    "batch_id": {
        "description": "The batch's id, as given at creation.",
        "schema": {"type": "string"},
    },
    "device_id": {
        "description": "The device's id (a GUID the service assigned).",
        "schema": {"type": "string"},
    },
    "tracking_id": {
        "description": "The batch tracking id: the last segment of the 202's Location.",
        "schema": {"type": "string"},
        "example": examples.TRACKING_ID,
    },
    "policy_id": {"description": "The policy's id.", "schema": {"type": "string"}},
}

HEADER_PARAMETERS: dict[str, dict[str, Any]] = {
    "MS-RequestId": {
        "description": "A GUID per logical request: a write retried with the same id and the "
        "same request gets the first answer; with a different request, 409.",
        "schema": {"type": "string"},
    },
    "MS-CorrelationId": {
        "description": "A GUID tying requests together; echoed.",
        "schema": {"type": "string"},
    },
    "MS-ContinuationToken": {
        "description": "The next page: the previous page's continuationToken.",
        "schema": {"type": "string"},
    },
    "If-None-Match": {
        "description": "A finished job's ETag: 304 while the document is unchanged.",
        "schema": {"type": "string"},
    },
}

QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "size": {
        "description": "Customers per page, 1 to 500.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
    },
    "continuationToken": {
        "description": "The next page (as in links.next); MS-ContinuationToken does the same.",
        "schema": {"type": "string"},
    },
    "search": {
        "description": "ztd extension: only devices whose serial number, product key (PKID) "
        "or id contains this text, case ignored; totalCount counts the matches, and links.next "
        "keeps the filter.",
        "schema": {"type": "string", "maxLength": 200},
    },
    "policy": {
        "description": "ztd extension: only devices with this policy id, or 'none' for "
        "devices without a policy.",
        "schema": {"type": "string"},
    },
}

_PATHS = PATH_PARAMETERS | webhook_docs.PATH_PARAMETERS
_WEBHOOK_QUERIES = QUERY_PARAMETERS | webhook_docs.QUERY_PARAMETERS

# Codes each error status carries, for the responses' descriptions.
ERROR_CODES = {
    400: "800002 invalid request (which field, device or line, and why); "
    "900118 the customer id is not a GUID",
    401: "400 the token is missing or was rejected",
    403: "900150 the caller's role may not do this",
    404: "60003 the customer is unknown (or another partner's); 1000 no such resource",
    408: "408 the body did not arrive within ZTD_BODY_TIMEOUT_SECONDS",
    409: "409 the resource exists, or the MS-RequestId was used for a different request",
    413: "413 the body is larger than ZTD_MAX_BODY_BYTES",
    414: "414 the URL is longer than ZTD_MAX_URL_BYTES",
    415: "415 the body is not JSON",
    429: "429 throttled (ZTD_THROTTLE_*, as Partner Center throttles), too many token attempts "
    "or an injected fault: wait Retry-After seconds",
    431: "431 the headers exceed ZTD_MAX_HEADER_BYTES or ZTD_MAX_HEADER_COUNT",
    502: "502 an injected fault (the emulator's /_ztd/v1/faults)",
    504: "504 an injected fault (the emulator's /_ztd/v1/faults)",
    500: "800003 unexpected service error (logged)",
    503: "503 the database is not reachable, or an injected fault",
}


# A 429 on /v1: Partner Center's throttling body ({statusCode, message}, which the emulator's
# throttling sends as the service does), or the error body of an injected fault.
THROTTLED: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"statusCode": {"type": "integer"}, "message": {"type": "string"}},
            "required": ["statusCode", "message"],
        },
        ERROR,
    ]
}


class UndescribedRoute(LookupError):
    """The app has a route the operations table does not describe."""


# The emulator's control plane (ztd's own admin API, not Partner Center's): its routes carry
# FastAPI models, and FastAPI's own description of them is kept as it is.
CONTROL_PLANE = "/_ztd/"
CONTROL_PLANE_TAG = "Emulator"


def build(routes: list[BaseRoute], *, title: str, version: str) -> dict[str, Any]:
    generated = get_openapi(title="", version="", routes=routes)
    paths: dict[str, dict[str, Any]] = {}
    for path, method in route_keys(routes, generated):
        if path.startswith(CONTROL_PLANE):
            paths.setdefault(path, {})[method] = _control_plane(generated["paths"][path][method])
            continue
        key = f"{method.upper()} {path}"
        op = OPERATIONS.get(key) or webhook_docs.OPERATIONS.get(key)
        if op is None:
            raise UndescribedRoute(
                f"{method.upper()} {path} is not described: "
                "add it to ztd.server.api.openapi.operations."
            )
        paths.setdefault(path, {})[method] = _operation(path, op)
    component_schemas = schemas() | examples.EXTRA_SCHEMAS | {"Throttled": THROTTLED}
    component_schemas |= webhook_docs.SCHEMAS
    if any(path.startswith(CONTROL_PLANE) for path in paths):
        fastapi_schemas = generated.get("components", {}).get("schemas", {})
        component_schemas = fastapi_schemas | component_schemas
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [*TAGS, webhook_docs.TAG],
        "paths": paths,
        "webhooks": webhook_docs.webhooks_section(),
        "components": {
            "schemas": component_schemas,
            "headers": HEADERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def route_keys(
    routes: list[BaseRoute], generated: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """(path, lower-case method) of every route in the schema. FastAPI's own generator finds
    them, however its router nests included routers; everything it says beyond that (no
    bodies, 422s) is discarded, except for the control plane."""
    if generated is None:
        generated = get_openapi(title="", version="", routes=routes)
    return [(path, method) for path, item in generated["paths"].items() for method in item]


def _control_plane(operation: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's description of a control-plane operation, under one tag, with the bearer
    scheme (an operator token: `ztd admin token --operator`)."""
    operation = dict(operation)
    operation["tags"] = [CONTROL_PLANE_TAG]
    operation["security"] = [{"bearer": []}]
    responses = {k: v for k, v in operation["responses"].items() if k != "422"}
    error = {"content": {"application/json": {"schema": ERROR}}}
    # Invalid bodies are 400 with Partner Center's error body (never 422); anything but an
    # operator token, or the control plane switched off, gets the 404 of a missing path.
    responses["400"] = {"description": ERROR_CODES[400], **error}
    responses["404"] = {"description": "not found, or not an operator token", **error}
    responses["500"] = {"description": ERROR_CODES[500], **error}
    operation["responses"] = responses
    return operation


DESCRIPTION = """\
ztd speaks Microsoft Partner Center's device-deployment wire format (Windows Autopilot).

* Paths under /v1 are matched ignoring case; request property names too (the .NET SDK sends
  PascalCase, the REST reference camelCase) and unknown properties are ignored. Responses
  are camelCase, with null properties left out.
* Uploads and policy updates are jobs: 202 with an empty body and a `Location` to poll with
  BatchUploadStatus_Get.
* Every error has Partner Center's body `{code, description, data, source}`.
* Authorize with a token from `ztd admin token --partner ID` (bearer), or a client id and
  secret from `ztd admin app add --partner ID` (client credentials).
"""


def _operation(path: str, op: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": _parameters(path, op),
        "responses": _responses(path, op),
    }
    if op.description:
        document["description"] = op.description
    if op.access == PUBLIC or op.access == CLIENT:
        document["security"] = []
    else:
        document["security"] = [{"bearer": []}, {"clientCredentials": []}]
    if op.body is not None:
        document["requestBody"] = examples.request_body(op.body)
    return document


def _parameters(path: str, op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, **_PATHS[name]}
        for name in _PATH_PARAM.findall(path)
    ]
    queries = _WEBHOOK_QUERIES if path.startswith("/webhooks/") else QUERY_PARAMETERS
    params += [{"name": name, "in": "query", **queries[name]} for name in op.query]
    headers = op.headers
    if path.startswith("/v1/"):
        headers = ("MS-RequestId", "MS-CorrelationId", *headers)
    params += [{"name": name, "in": "header", **HEADER_PARAMETERS[name]} for name in headers]
    return params


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _responses(path: str, op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary, "headers": _headers(*COMMON_HEADERS)}
    if op.returns is not None:
        media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{op.returns}"}}
        if op.returns in examples.RESPONSE_EXAMPLES:
            media["example"] = examples.RESPONSE_EXAMPLES[op.returns]
        success["content"] = {"application/json": media}
    if op.job:
        success["description"] = "Accepted: the job is queued; poll its Location. Empty body."
        success["headers"] |= _headers("Location")
        success["links"] = examples.JOB_LINKS
    responses: dict[str, Any] = {str(op.success): success}
    if op.operation_id == "BatchUploadStatus_Get":
        success["headers"] |= {
            "ETag": HEADERS["ETag"] | {"required": False, "description": "Finished jobs only."},
            "Retry-After": {"$ref": "#/components/headers/Retry-After"},
        }
        success["description"] = (
            "The job's status. A finished job carries an ETag; a running one Retry-After: 1."
        )
        responses["304"] = {
            "description": "Not modified: If-None-Match matched the finished job's ETag.",
            "headers": _headers(*COMMON_HEADERS, "ETag"),
        }
    if op.operation_id == "Devices_Get":
        success["links"] = examples.DEVICE_LINKS
    if op.operation_id == "DeviceBatches_Create":
        success["links"] = examples.JOB_LINKS | examples.BATCH_LINKS
    for status in _error_statuses(path, op):
        responses[str(status)] = _error_response(status, op, path)
    return responses


def _error_statuses(path: str, op: Operation) -> list[int]:
    # 400: a %00 in any path; 414 and 431: the server's request limits, before any route.
    statuses = {400, 414, 431, 500, *op.errors}
    if path.startswith("/v1/"):  # throttling, and the faults the emulator can inject
        statuses |= {429, 502, 503, 504}
    if op.access not in (PUBLIC, CLIENT):
        statuses |= {401, 403}
    elif op.access == CLIENT:
        statuses |= {401, 408, 415, 429}  # 429: attempt limits, or the secret pool is full
    if "{customer_id}" in path:
        statuses.add(404)
    if op.body is not None:
        statuses |= {408, 413, 415}
        if op.access != CLIENT:
            statuses.add(409)  # MS-RequestId reused for another request
    if op.access == BATCH_CREATOR:
        statuses.add(409)
    return sorted(statuses)


def _error_response(status: int, op: Operation, path: str) -> dict[str, Any]:
    headers = _headers(*COMMON_HEADERS)
    if status == 429:
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    if status == 401 and op.access != CLIENT:
        headers |= _headers("WWW-Authenticate")
    schema = ERROR
    if status == 429 and path.startswith("/v1/"):
        schema = {"$ref": "#/components/schemas/Throttled"}
    if op.access == CLIENT and status in (400, 401):
        schema = {"$ref": "#/components/schemas/OAuthError"}
    return {
        "description": ERROR_CODES.get(status, str(status)),
        "headers": headers,
        "content": {"application/json": {"schema": schema}},
    }
