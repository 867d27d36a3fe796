"""Identifiers in paths."""

from __future__ import annotations

import uuid

from ztd.server.errors import InvalidCustomerId, shown


def customer_guid(value: str) -> str:
    """The customer id as stored (lower-case GUID); 400 900118 when it is not a GUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidCustomerId(f"Invalid customer ID {shown(value)}: expected a GUID.") from None


def maybe_guid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
