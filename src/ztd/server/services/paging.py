"""Opaque continuation tokens: clients send them back unchanged (MS-ContinuationToken)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ztd.server.errors import InvalidRequest, shown


def encode_token(kind: str, position: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_token(token: str, kind: str) -> str:
    """The position inside a token of ``kind``; 400 when the token is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        text = ""
    found, _, position = text.partition(":")
    # Our positions are ids and row numbers: printable ASCII, never a NUL for the database.
    if found != kind or not position or not (position.isascii() and position.isprintable()):
        raise InvalidRequest(f"The continuation token {shown(token)} is not valid.")
    return position


def seek_collection(
    items: list[dict[str, Any]], total: int, next_token: str | None, next_uri: str
) -> dict[str, Any]:
    """A SeekBasedResourceCollection: the page, and when more follow the token both as
    ``continuationToken`` and in ``links.next`` (whose headers the .NET enumerator copies)."""
    collection: dict[str, Any] = {"totalCount": total, "items": items}
    if next_token is not None:
        collection["continuationToken"] = next_token
        collection["links"] = {
            "next": {
                "uri": next_uri,
                "method": "GET",
                "headers": [{"key": "MS-ContinuationToken", "value": next_token}],
            }
        }
    collection["attributes"] = {"objectType": "Collection"}
    return collection
