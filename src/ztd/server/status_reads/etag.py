"""Conditional status reads: whether an ``If-None-Match`` header names a document's ETag.

A finished job's document is immutable, so it carries a strong ETag and a poller that sends
it back gets ``304 Not Modified`` and no body. The header may list several tags, use the
weak form (``W/"..."``), or be ``*`` (RFC 9110, section 13.1.2, which compares weakly).
"""

from __future__ import annotations


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether a request with this ``If-None-Match`` value gets 304 for ``etag`` (a quoted
    strong tag as ztd sends it)."""
    if if_none_match is None:
        return False
    if if_none_match == etag:  # what pollers send back: the tag they got, byte for byte
        return True
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False
