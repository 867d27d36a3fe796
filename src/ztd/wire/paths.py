"""Ids in the URLs the service hands out (``Location``, ``links.self``, ``devicesLink``,
``links.next``, webhook ``statusUrl``, console links): every one is built by
``resource_path``, so that an id with "?", "#", "%", "/", a space or non-ASCII leads back
to its resource when the link is followed."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode


def path_segment(value: str) -> str:
    """``value`` as one URL path segment that leads back to it: every reserved character
    percent-encoded ("a?b#c", "a b", "50%", "%2F" would otherwise end the path, start a
    query or decode to something else), and "." or ".." spelled %2E so that URL
    resolution does not step out of the path (RFC 3986, sections 2.1 and 5.2.4)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def resource_path(*segments: str, query: Mapping[str, str | int] | None = None) -> str:
    """ "/" + the segments, each percent-encoded as one path segment (``path_segment``),
    then ``?query`` when given (keys and values percent-encoded).

    ``resource_path("customers", cid, "deviceBatches", "a?b")`` ->
    ``"/customers/<cid>/deviceBatches/a%3Fb"``. Literal names ("customers") encode to
    themselves; pass a prefix such as "v1" as its own segment."""
    path = "/" + "/".join(path_segment(segment) for segment in segments)
    if query:
        path += "?" + urlencode({k: str(v) for k, v in query.items()}, quote_via=quote)
    return path
