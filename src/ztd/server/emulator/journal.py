"""The request journal: what tests read back to see what their client really sent.

Stored (every API process writes to the same table) and bounded by count and age. Only the
request line, ids, status, timing and a bounded excerpt of the body are kept: no header, so
no bearer token; bodies of the token endpoint are never kept (client secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Connection, delete, func, select

from ztd.server.errors import cut
from ztd.server.storage.ids import maybe_guid
from ztd.server.storage.schema import emulator_requests

BODY_EXCERPT_BYTES = 2048
PRUNE_EVERY = 50  # inserts between prunes, per process
_PRIVATE_PATHS = ("/oauth2/",)


@dataclass
class Entry:
    at: datetime
    method: str
    path: str
    status: int = 0
    partner_id: str | None = None
    customer_id: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    duration_ms: int = 0
    body: bytearray | None = None
    fault_id: str | None = None
    started: float = 0.0  # perf_counter() when the request came in
    stored: bool = False

    def take_body(self, chunk: bytes) -> None:
        if self.path.startswith(_PRIVATE_PATHS):
            return
        if self.body is None:
            self.body = bytearray()
        room = BODY_EXCERPT_BYTES - len(self.body)
        if room > 0:
            self.body += chunk[:room]


class JournalEntry(BaseModel):
    """One entry as GET /_ztd/v1/requests answers it (camelCase), read from its row."""

    time: datetime = Field(validation_alias="at")
    method: str
    path: str
    status: int
    partner_id: str | None = Field(None, serialization_alias="partnerId")
    customer_id: str | None = Field(None, serialization_alias="customerId")
    request_id: str | None = Field(None, serialization_alias="requestId")
    correlation_id: str | None = Field(None, serialization_alias="correlationId")
    duration_ms: int = Field(serialization_alias="durationMs")
    body_excerpt: str | None = Field(None, serialization_alias="bodyExcerpt")
    fault_id: str | None = Field(None, serialization_alias="faultId")


def correlation_matches(wanted: str) -> ColumnElement[bool]:
    """Entries whose correlation id is ``wanted``: any spelling of the same GUID when
    ``wanted`` is one (letter case, braces, hyphens: the spellings the API reads as one
    GUID, and MS-CorrelationId is echoed as sent), else exactly ``wanted``. The journal is
    bounded (ZTD_JOURNAL_MAX_ENTRIES), so comparing a computed form scans few rows."""
    guid = maybe_guid(wanted)
    if guid is None:
        return emulator_requests.c.correlation_id == wanted
    spelled: ColumnElement[str] = emulator_requests.c.correlation_id
    for mark in ("-", "{", "}"):
        spelled = func.replace(spelled, mark, "")
    return func.lower(spelled) == guid.replace("-", "")


# The columns an Entry fills under its own attribute names (path and body are bounded first).
_AS_NOTED = tuple(
    c.name for c in emulator_requests.columns if c.name not in ("pk", "path", "body_excerpt")
)
MAX_PATH_CHARS = 2000


class Journal:
    def __init__(self, max_entries: int, max_age_seconds: float) -> None:
        self.max_entries = max_entries
        self.max_age = timedelta(seconds=max_age_seconds)
        self._since_prune = 0

    def record(self, conn: Connection, entry: Entry) -> None:
        body = None
        if entry.body:
            body = bytes(entry.body).decode("utf-8", "replace")
        conn.execute(
            emulator_requests.insert().values(
                path=cut(entry.path, MAX_PATH_CHARS),
                body_excerpt=body,
                **{name: getattr(entry, name) for name in _AS_NOTED},
            )
        )
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            self.prune(conn, entry.at)

    def prune(self, conn: Connection, now: datetime) -> None:
        r = emulator_requests.c
        conn.execute(delete(emulator_requests).where(r.at < now - self.max_age))
        top = conn.execute(select(func.max(r.pk))).scalar()
        if top is not None:
            conn.execute(delete(emulator_requests).where(r.pk <= top - self.max_entries))


def read(
    conn: Connection, limit: int, correlation_id: str | None = None, **filters: Any
) -> list[JournalEntry]:
    """The newest ``limit`` entries matching ``filters`` (column=value) and
    ``correlation_id`` (see correlation_matches), oldest first."""
    r = emulator_requests.c
    where = [r[name] == value for name, value in filters.items() if value is not None]
    if correlation_id is not None:
        where.append(correlation_matches(correlation_id))
    rows = conn.execute(
        select(emulator_requests).where(*where).order_by(r.pk.desc()).limit(limit)
    ).all()
    return [JournalEntry.model_validate(row._mapping) for row in reversed(rows)]
