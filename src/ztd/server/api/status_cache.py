"""In-process caches that let a status poll skip the database.

A finished job's document never changes, so it can be kept as bytes; which customers a
partner may act for changes rarely, so a confirmed relationship is remembered briefly.
Both are bounded; neither is ever consulted for a write.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ztd.server.jobs.documents import ItemEcho

RELATIONSHIP_TTL_SECONDS = 10.0


class FinishedDocument(NamedTuple):
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
    def __init__(
        self,
        max_bytes: int = 64 * 2**20,
        max_relationships: int = 100_000,
        max_items: int = 500_000,
    ) -> None:
        self._documents: OrderedDict[tuple[str, str], FinishedDocument] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._relationships: dict[tuple[str, str], float] = {}
        self._max_relationships = max_relationships
        self._running: dict[str, RunningJob] = {}
        self._item_count = 0
        self._max_items = max_items
        self._lock = threading.Lock()

    def document(self, customer_id: str, tracking_id: str) -> FinishedDocument | None:
        key = (customer_id, tracking_id)
        found = self._documents.get(key)
        if found is not None:
            with self._lock:
                if key in self._documents:
                    self._documents.move_to_end(key)
        return found

    def remember_document(self, customer_id: str, tracking_id: str, doc: FinishedDocument) -> None:
        if len(doc.body) > self._max_bytes // 4:
            return  # one huge document must not evict everything else
        key = (customer_id, tracking_id)
        with self._lock:
            if key in self._documents:
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

    def may_act_for(self, partner_id: str, customer_id: str) -> bool:
        expires = self._relationships.get((partner_id, customer_id))
        return expires is not None and expires > time.monotonic()

    def remember_relationship(self, partner_id: str, customer_id: str) -> None:
        if len(self._relationships) >= self._max_relationships:
            self._relationships.clear()
        self._relationships[(partner_id, customer_id)] = time.monotonic() + RELATIONSHIP_TTL_SECONDS
