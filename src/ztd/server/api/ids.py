"""Identifiers in paths."""

from __future__ import annotations

from ztd.server.errors import InvalidCustomerId, shown
from ztd.server.storage.ids import maybe_guid


def customer_guid(value: str) -> str:
    """The customer id as stored (lower-case GUID); InvalidCustomerId when not a GUID."""
    guid = maybe_guid(value)
    if guid is None:
        raise InvalidCustomerId(f"Invalid customer ID {shown(value)}: expected a GUID.")
    return guid
