"""The one spelling a status document is cached under, whatever spelling a client polls with.

Partner Center matches paths without regard to case, and a GUID may come upper-case, braced
or without hyphens; the cache holds the canonical form (lower-case, hyphenated), which is
also how ids are stored.
"""

from __future__ import annotations

from ztd.server.storage.ids import maybe_guid as canonical_id

__all__ = ["canonical_id", "poll_key", "status_key"]
_CUSTOMERS = "/v1/customers/"
_STATUS_SEGMENT = "batchjobstatus"
_GUID_LENGTH = 36


def status_key(customer_id: str, tracking_id: str) -> tuple[str, str] | None:
    """The cache key of a poll of ``tracking_id`` for ``customer_id``; None when either is
    no GUID (no such document can exist)."""
    customer, tracking = canonical_id(customer_id), canonical_id(tracking_id)
    if customer is None or tracking is None:
        return None
    return customer, tracking


def poll_key(path: str) -> tuple[str, str] | None:
    """The cache key of a request path ``/v1/customers/{c}/batchJobStatus/{t}`` in any
    case; None for any other path. Cheap for the usual spelling (the fast lane calls it on
    every request); paths with doubled or trailing slashes get None and take the route."""
    if path[:14].lower() != _CUSTOMERS:
        return None
    customer, _, rest = path[14:].partition("/")
    segment, slash, tracking = rest.partition("/")
    if not slash or segment.lower() != _STATUS_SEGMENT or "/" in tracking:
        return None
    if len(customer) == len(tracking) == _GUID_LENGTH:
        # Lower-casing is all a hyphenated GUID needs; anything else that happens to be 36
        # characters simply finds nothing in the cache, which holds canonical keys only.
        return customer.lower(), tracking.lower()
    return status_key(customer, tracking)
