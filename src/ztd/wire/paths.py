"""Ids in the URLs the service hands out (``Location``, ``devicesLink``, ``links.next``)."""

from __future__ import annotations

from urllib.parse import quote


def path_segment(value: str) -> str:
    """``value`` as one URL path segment that leads back to it: every reserved character
    percent-encoded ("a?b#c", "a b", "50%", "%2F" would otherwise end the path, start a
    query or decode to something else), and "." or ".." spelled %2E so that URL
    resolution does not step out of the path (RFC 3986, sections 2.1 and 5.2.4)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
