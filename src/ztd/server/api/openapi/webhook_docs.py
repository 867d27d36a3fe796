"""The webhook operations (/webhooks/v1/...), their schemas and the document's ``webhooks``
section (each event's payload, as receivers get it)."""

from __future__ import annotations

from typing import Any

from ztd.server.api.openapi.operations import READER, WRITER, Operation
from ztd.server.webhooks import catalog

_REG = "/webhooks/v1/registration"
_TAG = "Webhooks"
TAG = {
    "name": _TAG,
    "description": "Signed webhooks (Standard Webhooks): registrations, the delivery log, "
    "replay and the listen channel (docs/webhooks.md)",
}

OPERATIONS: dict[str, Operation] = {
    f"POST {_REG}": Operation(
        "WebhookRegistration_Create",
        _TAG,
        "Register an endpoint (or a listen channel) for events; the secret is shown once",
        201,
        WRITER,
        body="WebhookRegistrationInput",
        returns="WebhookRegistrationWithSecret",
        description="400 naming every problem (data: one per field) when the body is wrong or "
        "webhookUrl is refused (scheme, credentials, port, an address that is not public "
        "unicast unless ZTD_WEBHOOK_ALLOW_PRIVATE); 409 past 20 endpoints (disabled ones "
        "included) or 10 listen channels.",
    ),
    f"PUT {_REG}": Operation(
        "WebhookRegistration_Update",
        _TAG,
        "Partner Center's form: replace the partner's one endpoint's URL and events; re-enables it",
        200,
        WRITER,
        body="WebhookRegistrationInput",
        returns="WebhookRegistration",
        description="404 when the partner holds no endpoint, 409 when it holds several (use "
        "PUT .../registration/{registration_id}); otherwise as the id form.",
        errors=(404, 409),
    ),
    f"GET {_REG}": Operation(
        "WebhookRegistrations_Get",
        _TAG,
        "The calling partner's registrations",
        200,
        READER,
        returns="WebhookRegistrationCollection",
    ),
    f"GET {_REG}/events": Operation(
        "WebhookEventTypes_Get", _TAG, "The event types", 200, READER, returns="WebhookEventTypes"
    ),
    f"POST {_REG}/validationEvents": Operation(
        "WebhookValidationEvent_Create",
        _TAG,
        "Send a webhook.test event to one registration or to every active one",
        200,
        WRITER,
        body="WebhookValidationInput",
        returns="WebhookValidationEvents",
        description="409 when the registration named is disabled, or without one when every "
        "registration is disabled, each saying why and how to re-enable it (PUT, then the test "
        "again); 400 when the partner has no registration.",
        errors=(404, 409),
    ),
    f"GET {_REG}/{{registration_id}}": Operation(
        "WebhookRegistration_Get",
        _TAG,
        "A registration",
        200,
        READER,
        returns="WebhookRegistration",
        errors=(404,),
    ),
    f"DELETE {_REG}/{{registration_id}}": Operation(
        "WebhookRegistration_Delete",
        _TAG,
        "Remove a registration (its pending deliveries are cancelled)",
        204,
        WRITER,
        errors=(404,),
    ),
    f"PUT {_REG}/{{registration_id}}": Operation(
        "WebhookRegistration_UpdateById",
        _TAG,
        "Replace a registration's webhookUrl and webhookEvents; a disabled one is re-enabled",
        200,
        WRITER,
        body="WebhookRegistrationInput",
        returns="WebhookRegistration",
        description="Validated as at registration (400). Re-enabling clears disabledReason "
        "and restarts the failure clock; the secret stays. 409 for a listen channel.",
        errors=(404, 409),
    ),
    f"POST {_REG}/{{registration_id}}/rotateSecret": Operation(
        "WebhookSecret_Rotate",
        _TAG,
        "A new secret; the previous one keeps signing for overlapSeconds",
        200,
        WRITER,
        body="WebhookRotationInput",
        returns="WebhookRegistrationWithSecret",
        errors=(404,),
    ),
    f"GET {_REG}/{{registration_id}}/deliveries": Operation(
        "WebhookDeliveries_Get",
        _TAG,
        "The registration's deliveries, newest first, each with its attempts, a page at a time",
        200,
        READER,
        returns="WebhookDeliveryCollection",
        headers=("MS-ContinuationToken",),
        query=("size", "continuationToken"),
        errors=(404,),
    ),
    f"GET {_REG}/{{registration_id}}/attempts": Operation(
        "WebhookAttempts_Get",
        _TAG,
        "The registration's newest delivery attempts (at most 500), newest first",
        200,
        READER,
        returns="WebhookAttemptCollection",
        query=("eventId",),
        errors=(404,),
        description="A flat list, capped; WebhookDeliveries_Get pages every attempt.",
    ),
    f"POST {_REG}/{{registration_id}}/replay": Operation(
        "WebhookFailed_Replay",
        _TAG,
        "Queue again the registration's failed deliveries since a time",
        200,
        WRITER,
        body="WebhookReplayInput",
        returns="WebhookReplay",
        description="Failed deliveries, and those cancelled when it was disabled. 409 while "
        "the registration is disabled (re-enable it with PUT first).",
        errors=(404, 409),
    ),
    f"GET {_REG}/{{registration_id}}/listen": Operation(
        "WebhookListen_Poll",
        _TAG,
        "Long poll a listen channel: its events, signed, as soon as there are some",
        200,
        WRITER,
        returns="WebhookListenBatch",
        query=("wait",),
        errors=(404,),
    ),
    "GET /webhooks/v1/events/{event_id}": Operation(
        "WebhookEvent_Get",
        _TAG,
        "An event: its payload, deliveries and attempts",
        200,
        READER,
        returns="WebhookEvent",
        errors=(404,),
    ),
    "GET /webhooks/v1/events/{event_id}/deliveries": Operation(
        "WebhookEventDeliveries_Get",
        _TAG,
        "An event's deliveries (one per registration), newest first, with their attempts",
        200,
        READER,
        returns="WebhookDeliveryCollection",
        headers=("MS-ContinuationToken",),
        query=("size", "continuationToken"),
        errors=(404,),
    ),
    "POST /webhooks/v1/events/{event_id}/replay": Operation(
        "WebhookEvent_Replay",
        _TAG,
        "Send an event again to its active registrations (same webhook-id)",
        200,
        WRITER,
        returns="WebhookEventReplay",
        errors=(404, 409),
        description="skipped names the event's disabled registrations, each with why and how "
        "to re-enable it (PUT, then replay); 409 naming them when every registration the "
        "event went to is disabled.",
    ),
}

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "registration_id": {"description": "The registration's id.", "schema": {"type": "string"}},
    "event_id": {
        "description": "The event's id (its webhook-id, msg_...).",
        "schema": {"type": "string"},
    },
}
# Under /webhooks/ these replace the /v1 parameters of the same name.
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "size": {
        "description": "Deliveries per page, 1 to 100.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "eventId": {"description": "Only this event's attempts.", "schema": {"type": "string"}},
    "wait": {
        "description": "Seconds to wait for an event, 0 to 30.",
        "schema": {"type": "number", "minimum": 0, "maximum": 30, "default": 25},
    },
}

_TIME = {"type": "string", "format": "date-time"}
_EVENTS = {"type": "array", "items": {"type": "string", "enum": list(catalog.EVENT_TYPES)}}
_REGISTRATION_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "webhookUrl": {"type": "string"},
    "webhookEvents": _EVENTS,
    "status": {"type": "string", "enum": ["active", "disabled"]},
    "disabledReason": {"type": "string"},
    "disabledTime": _TIME,
    "listen": {"type": "boolean"},
    "createdTime": _TIME,
    "expiresTime": _TIME,
    "previousSecretExpiresTime": _TIME,
    "attributes": {"type": "object"},
}
_ATTEMPT = {
    "type": "object",
    "required": ["eventId", "registrationId", "attempt", "attemptedTime", "latencyMs"],
    "properties": {
        "eventId": {"type": "string"},
        "registrationId": {"type": "string"},
        "attempt": {"type": "integer"},
        "attemptedTime": _TIME,
        "latencyMs": {"type": "integer"},
        "statusCode": {"type": "integer"},
        "error": {"type": "string"},
        "responseExcerpt": {"type": "string"},
    },
}
_DELIVERY = {
    "type": "object",
    "required": [
        "eventId",
        "registrationId",
        "status",
        "attempts",
        "type",
        "createdTime",
        "attemptLog",
    ],
    "properties": {
        "eventId": {"type": "string"},
        "registrationId": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["pending", "sending", "delivered", "failed", "cancelled"],
        },
        "attempts": {"type": "integer", "description": "Attempts so far"},
        "nextAttemptTime": _TIME,
        "deliveredTime": _TIME,
        "type": {"type": "string", "description": "The event's type"},
        "createdTime": _TIME,
        "attemptLog": {"type": "array", "items": _ATTEMPT, "description": "Oldest first"},
    },
}
_LINK = {
    "type": "object",
    "properties": {
        "uri": {"type": "string"},
        "method": {"type": "string"},
        "headers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
            },
        },
    },
}
_REPLAY = {
    "type": "object",
    "required": ["queued"],
    "properties": {"queued": {"type": "integer"}, "attributes": {"type": "object"}},
}


def _collection(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["totalCount", "items"],
        "properties": {
            "totalCount": {"type": "integer"},
            "items": {"type": "array", "items": item},
            "attributes": {"type": "object"},
        },
    }


def _seek_collection(item: dict[str, Any]) -> dict[str, Any]:
    """A page: while more follow, ``continuationToken`` and ``links.next`` (its headers
    carry the token as MS-ContinuationToken), as on /v1."""
    paged = _collection(item)
    paged["properties"] |= {
        "continuationToken": {"type": "string"},
        "links": {"type": "object", "properties": {"next": _LINK}},
    }
    return paged


_REGISTRATION = {
    "type": "object",
    "required": ["id", "webhookEvents", "status", "listen", "createdTime"],
    "properties": _REGISTRATION_PROPERTIES,
}
SCHEMAS: dict[str, Any] = {
    "WebhookRegistrationInput": {
        "type": "object",
        "required": ["webhookEvents"],
        "properties": {
            "webhookUrl": {"type": "string", "description": "http(s) URL; absent with listen"},
            "webhookEvents": _EVENTS,
            "listen": {"type": "boolean", "description": "A channel `ztd listen` drains"},
        },
    },
    "WebhookRegistration": _REGISTRATION,
    "WebhookRegistrationWithSecret": {
        "type": "object",
        "required": [*_REGISTRATION["required"], "secret"],
        "properties": {
            **_REGISTRATION_PROPERTIES,
            "secret": {"type": "string", "pattern": "^whsec_"},
        },
    },
    "WebhookRegistrationCollection": _collection(_REGISTRATION),
    "WebhookEventTypes": _EVENTS,
    "WebhookValidationInput": {
        "type": "object",
        "properties": {"registrationId": {"type": "string"}},
    },
    "WebhookValidationEvents": {
        "type": "object",
        "required": ["eventIds"],
        "properties": {
            "eventIds": {"type": "array", "items": {"type": "string"}},
            "attributes": {"type": "object"},
        },
    },
    "WebhookRotationInput": {
        "type": "object",
        "properties": {"overlapSeconds": {"type": "number", "minimum": 0, "maximum": 604800}},
    },
    "WebhookReplayInput": {
        "type": "object",
        "required": ["failedSince"],
        "properties": {"failedSince": _TIME},
    },
    "WebhookAttemptCollection": _collection(_ATTEMPT),
    "WebhookDeliveryCollection": _seek_collection(_DELIVERY),
    "WebhookReplay": _REPLAY,
    "WebhookEventReplay": {
        "type": "object",
        "required": ["queued", "skipped"],
        "properties": {
            "queued": {"type": "integer"},
            "skipped": {
                "type": "array",
                "description": "The event's disabled registrations, not queued.",
                "items": {
                    "type": "object",
                    "required": ["registrationId", "reason"],
                    "properties": {
                        "registrationId": {"type": "string"},
                        "reason": {
                            "type": "string",
                            "description": "Since when and why it is disabled, and how to "
                            "re-enable it.",
                        },
                    },
                },
            },
            "attributes": {"type": "object"},
        },
    },
    "WebhookEvent": {
        "type": "object",
        "required": ["id", "type", "createdTime", "payload", "deliveries", "attempts"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "createdTime": _TIME,
            "payload": {"type": "object"},
            "deliveries": {"type": "array", "items": {"type": "object"}},
            "attempts": {"type": "array", "items": _ATTEMPT},
            "attributes": {"type": "object"},
        },
    },
    "WebhookListenBatch": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "payload", "headers"],
                    "properties": {
                        "type": {"type": "string"},
                        "payload": {"type": "string", "description": "The exact text signed"},
                        "headers": {
                            "type": "object",
                            "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
                            "additionalProperties": {"type": "string"},
                        },
                    },
                },
            },
            "attributes": {"type": "object"},
        },
    },
} | {f"WebhookEvent_{name}": catalog.envelope_schema(name) for name in catalog.DATA_SCHEMAS}

REQUESTS: dict[str, dict[str, Any]] = {
    "WebhookRegistrationInput": {
        "description": "An endpoint and the events it wants (or listen: true, no URL).",
        "required": True,
        "examples": {
            "endpoint": {
                "value": {
                    "webhookUrl": "https://hooks.example.com/ztd",
                    "webhookEvents": [catalog.BATCH_JOB_COMPLETED],
                }
            }
        },
    },
    "WebhookValidationInput": {
        "description": "Optional: the registration to test (all active ones otherwise).",
        "required": False,
        "examples": {"all": {"value": {}}},
    },
    "WebhookRotationInput": {
        "description": "Optional: how long the previous secret keeps signing (default 86400).",
        "required": False,
        "examples": {"a day": {"value": {"overlapSeconds": 86400}}},
    },
    "WebhookReplayInput": {
        "description": "Failed deliveries of events since this time are queued again.",
        "required": True,
        "examples": {"since": {"value": {"failedSince": "2026-11-30T00:00:00Z"}}},
    },
}

_SIGNATURE_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
]


def webhooks_section() -> dict[str, Any]:
    """OpenAPI 3.1 ``webhooks``: the POST each event is, as the receiver gets it."""
    return {
        name: {
            "post": {
                "operationId": f"Webhook_{name.replace('.', '_')}",
                "tags": [_TAG],
                "summary": catalog.EVENT_TYPES.get(name, "A test event (validationEvents)"),
                "parameters": _SIGNATURE_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/WebhookEvent_{name}"}
                        }
                    },
                },
                "responses": {
                    "200": {"description": "Received (any 2xx). 410 disables the endpoint."}
                },
            }
        }
        for name in catalog.DATA_SCHEMAS
    }
