"""Opaque continuation tokens: clients send them back unchanged (MS-ContinuationToken)."""

from __future__ import annotations

import base64
import binascii

from ztd.server.errors import bad_request


def encode_token(kind: str, position: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_token(token: str, kind: str) -> str:
    """The position inside a token of ``kind``; 400 when the token is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        text = ""
    found, _, position = text.partition(":")
    if found != kind or not position:
        raise bad_request(f"The continuation token {token!r} is not valid.")
    return position
