"""What a process remembers of status reads, so that most polls skip the database.

A finished job's document never changes, so it is kept as bytes under its canonical key. A
running job keeps what its polls reuse (the items' echo, rendered chunk parts). A confirmed
partner-customer relationship is remembered for a few seconds. All three are bounded, none
is ever consulted for a write, and all of them go at once when the world they describe was
replaced (an emulator reset or snapshot import, here or in another process): see
``StatusCache.forget_everything`` and the generation it advances.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ztd.server.jobs.documents import ItemEcho

# The longest a relationship confirmed by the database is honoured without asking again,
# i.e. how late a removed relationship may still read cached documents.
RELATIONSHIP_TTL_SECONDS = 10.0
# From this age on, one poll (at most one a second) re-confirms the relationship the normal
# way while the others go on from memory. Without it every poll in flight missed at the
# same instant each TTL and took the database path together: a p99 stall every 10 s.
RELATIONSHIP_REFRESH_SECONDS = 5.0
RELATIONSHIP_RETRY_SECONDS = 1.0


class FinishedDocument(NamedTuple):
    """A finished job's BatchUploadDetails: the exact bytes served and their strong ETag
    (quoted, as sent in the ``ETag`` header)."""

    body: bytes
    etag: str


class RunningDocument(NamedTuple):
    body: bytes


@dataclass
class RunningJob:
    """What polls of an unfinished job reuse: the items' echo (never changes), each chunk's
    rendered part per state, and the last document built, valid while the job's and chunks'
    states are the same."""

    items: list[ItemEcho]
    state: tuple[Any, ...] = ()
    document: RunningDocument | None = None
    parts: dict[tuple[int, str], bytes] = field(default_factory=dict)  # chunk, state -> part


class StatusCache:
    """Bounded in-memory state of the status reads of one process (thread-safe: the route
    fills it from the thread pool while the fast lane reads it on the event loop).

    Keys are canonical: lower-case hyphenated GUIDs (see :mod:`.keys`)."""

    def __init__(
        self,
        max_bytes: int = 64 * 2**20,
        max_relationships: int = 100_000,
        max_items: int = 500_000,
        monotonic: Callable[[], float] = time.monotonic,  # seconds; tests pass their own
    ) -> None:
        self._monotonic = monotonic
        self._documents: OrderedDict[tuple[str, str], FinishedDocument] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        # (partner, customer) -> [monotonic time to re-confirm, monotonic expiry]
        self._relationships: dict[tuple[str, str], list[float]] = {}
        self._max_relationships = max_relationships
        self._running: dict[str, RunningJob] = {}
        self._item_count = 0
        self._max_items = max_items
        self._lock = threading.Lock()
        # Advanced by forget_everything: a fill that began under an older generation read a
        # world that may be gone, so what it found is not remembered.
        self.generation = 0

    def document(self, key: tuple[str, str]) -> FinishedDocument | None:
        found = self._documents.get(key)
        if found is not None:
            # No lock on the hot path (nor contextlib.suppress, which costs more than the
            # move): a concurrent eviction only makes this a no-op.
            try:  # noqa: SIM105
                self._documents.move_to_end(key)
            except KeyError:
                pass
        return found

    def remember_document(
        self, key: tuple[str, str], doc: FinishedDocument, generation: int
    ) -> None:
        if len(doc.body) > self._max_bytes // 4:
            return  # one huge document must not evict everything else
        with self._lock:
            if generation != self.generation or key in self._documents:
                return
            self._documents[key] = doc
            self._bytes += len(doc.body)
            while self._bytes > self._max_bytes:
                _, evicted = self._documents.popitem(last=False)
                self._bytes -= len(evicted.body)

    def running(self, job_id: str) -> RunningJob | None:
        return self._running.get(job_id)

    def remember_running(self, job_id: str, job: RunningJob) -> None:
        with self._lock:
            if self._item_count + len(job.items) > self._max_items:
                self._running.clear()
                self._item_count = 0
            self._running[job_id] = job
            self._item_count += len(job.items)

    def forget_running(self, job_id: str) -> None:
        with self._lock:
            removed = self._running.pop(job_id, None)
            if removed is not None:
                self._item_count -= len(removed.items)

    def relationship_holds(self, partner_id: str, customer_id: str) -> bool:
        """Whether a relationship confirmed recently may be trusted for this poll. Past
        RELATIONSHIP_REFRESH_SECONDS one caller a second is told no, so that it confirms
        the relationship the normal way (``remember_relationship``) for everyone."""
        entry = self._relationships.get((partner_id, customer_id))
        if entry is None:
            return False
        now = self._monotonic()
        if now < entry[0]:
            return True
        if now >= entry[1]:
            return False
        entry[0] = now + RELATIONSHIP_RETRY_SECONDS  # this caller asks; the others go on
        return False

    def remember_relationship(self, partner_id: str, customer_id: str, generation: int) -> None:
        """Called after the database confirmed that the partner acts for the customer."""
        now = self._monotonic()
        with self._lock:
            if generation != self.generation:
                return
            if len(self._relationships) >= self._max_relationships:
                self._relationships.clear()
            self._relationships[(partner_id, customer_id)] = [
                now + RELATIONSHIP_REFRESH_SECONDS,
                now + RELATIONSHIP_TTL_SECONDS,
            ]

    def forget_everything(self) -> None:
        """Drop every document, running job and relationship, and refuse what fills that
        began before this call would add."""
        with self._lock:
            self.generation += 1
            self._documents.clear()
            self._bytes = 0
            self._running.clear()
            self._item_count = 0
            self._relationships.clear()
