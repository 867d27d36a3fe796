"""Receiving ztd's webhooks: checking that a request really comes from the service.

    from ztd.client import verify_webhook, WebhookVerificationError

    event = verify_webhook(request_body, request_headers, secret)  # the parsed payload

Signatures follow the Standard Webhooks specification (https://www.standardwebhooks.com/),
checked by its reference library; a receiver should also de-duplicate on ``webhook-id``,
since delivery is at least once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as _LibraryError

# A secret rotation's overlap, in seconds: its default and its most (the service's bounds;
# the SDK checks them before sending, and the CLI checks --overlap against them).
from ztd.client._webhook_registrations import DEFAULT_OVERLAP_SECONDS as DEFAULT_OVERLAP_SECONDS
from ztd.client._webhook_registrations import MAX_OVERLAP_SECONDS as MAX_OVERLAP_SECONDS


class WebhookVerificationError(ValueError):
    """The request is not a valid webhook for this secret: a header is missing, the
    timestamp is more than five minutes off, or no signature matches."""


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The event ``{"type", "timestamp", "data"}`` when ``payload`` (the raw body, unparsed)
    and ``headers`` (webhook-id, webhook-timestamp, webhook-signature; any case) are signed
    with ``secret`` (``whsec_...``, as registration or rotation showed it). Raises
    WebhookVerificationError otherwise, and ValueError for a malformed secret."""
    try:
        verifier = Webhook(secret)
    except Exception as exc:  # the library raises bare errors for a bad base64 secret
        raise ValueError(f"not a webhook secret (whsec_...): {exc}") from None
    try:
        event = verifier.verify(payload, dict(headers))
    except _LibraryError as exc:
        raise WebhookVerificationError(str(exc)) from None
    except ValueError as exc:  # a signature header that is not "v1,<base64>"
        raise WebhookVerificationError(f"malformed webhook-signature: {exc}") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    return event
