"""Time, injectable: tests and the job engine take a clock instead of reading the wall."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def wire_time(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, as .NET's DateTime parser and Java's Jackson read it."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
