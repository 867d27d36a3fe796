"""Standard Webhooks signatures (https://www.standardwebhooks.com/), made by the
``standardwebhooks`` library: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.
During a secret rotation's overlap the signature header carries one signature per secret,
so a receiver still holding the previous secret keeps verifying."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 24 random bytes in base64 (shown once)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(
    event_id: str, timestamp: datetime, payload: str, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The three headers of one attempt; ``timestamp`` is the attempt's time."""
    signatures = [Webhook(secret).sign(event_id, timestamp, payload) for secret in signing_secrets]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
