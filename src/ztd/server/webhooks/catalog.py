"""The event types a partner may subscribe to, and the JSON schema of each payload (the
OpenAPI document's ``webhooks`` section is built from these)."""

from __future__ import annotations

from typing import Any

BATCH_JOB_COMPLETED = "devicebatch.job.completed"
POLICY_JOB_COMPLETED = "devicepolicy.job.completed"
BATCH_CREATED = "devicebatch.created"
TEST = "webhook.test"  # POST /webhooks/v1/registration/validationEvents; always delivered

# Event type -> what it says, for GET /webhooks/v1/registration/events and the document.
EVENT_TYPES: dict[str, str] = {
    BATCH_JOB_COMPLETED: "An upload job (create a batch, add devices) finished: its counts by "
    "outcome code match its BatchUploadDetails.",
    POLICY_JOB_COMPLETED: "A device policy update job finished.",
    BATCH_CREATED: "A device batch was created (its upload job follows).",
}
JOB_EVENT_OF_KIND = {"upload": BATCH_JOB_COMPLETED, "policy_update": POLICY_JOB_COMPLETED}

_TIME = {"type": "string", "format": "date-time"}
_UUID = {"type": "string", "format": "uuid"}
_OUTCOMES = {
    "type": "object",
    "description": "Devices by outcome: succeeded, failed, and failed by error code (the "
    "error name where the code has no number, e.g. ZtdDeviceDuplicated).",
    "required": ["succeeded", "failed", "byErrorCode"],
    "properties": {
        "succeeded": {"type": "integer", "minimum": 0},
        "failed": {"type": "integer", "minimum": 0},
        "byErrorCode": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


def _job_data(with_batch: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "trackingId": _UUID,
        "customerId": _UUID,
        "status": {"type": "string", "enum": ["finished", "finished_with_errors"]},
        "deviceCount": {"type": "integer", "minimum": 0},
        "outcomes": _OUTCOMES,
        "startedTime": _TIME,
        "completedTime": _TIME,
        "statusUrl": {"type": "string", "description": "The job's BatchUploadDetails, /v1/..."},
        "correlationId": {"type": "string", "description": "MS-CorrelationId of the request"},
    }
    required = ["trackingId", "customerId", "status", "deviceCount", "outcomes", "statusUrl"]
    if with_batch:
        properties["batchId"] = {"type": "string"}
    return {"type": "object", "required": required, "properties": properties}


DATA_SCHEMAS: dict[str, dict[str, Any]] = {
    BATCH_JOB_COMPLETED: _job_data(with_batch=True),
    POLICY_JOB_COMPLETED: _job_data(with_batch=False),
    BATCH_CREATED: {
        "type": "object",
        "required": ["batchId", "customerId", "createdTime"],
        "properties": {
            "batchId": {"type": "string"},
            "customerId": _UUID,
            "createdTime": _TIME,
            "correlationId": {"type": "string"},
        },
    },
    TEST: {
        "type": "object",
        "required": ["registrationId"],
        "properties": {"registrationId": _UUID, "message": {"type": "string"}},
    },
}


def envelope_schema(event_type: str) -> dict[str, Any]:
    """The whole payload: Standard Webhooks' recommended {type, timestamp, data}."""
    return {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": event_type},
            "timestamp": _TIME,
            "data": DATA_SCHEMAS[event_type],
        },
    }
