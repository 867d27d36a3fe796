"""The finding type shared by every identity check (hash, product key, device, CSV)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a device identifier.

    ``code`` is a stable, short, kebab-case token (for example ``"checksum-mismatch"``) that
    callers may match on; ``message`` is for people and may change wording between versions.
    """

    code: str
    message: str
