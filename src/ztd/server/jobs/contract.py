"""What a job kind is, and what the engine hands it.

A job kind (a device upload, a policy update, whatever asynchronous work comes next) is an
object with a ``name`` and a ``process`` method, registered in :mod:`.kinds.registry`. For
each chunk the engine claims a lease, opens the transaction that fences it, and calls
``process`` with a :class:`ChunkContext`: the connection of that transaction, the job's
fields, the chunk's item range and attempt number, and the time. The kind never sees the
lease: it cannot extend, release or fence it, and everything it writes commits with the
chunk's state, or not at all.

``process`` answers with a :class:`ChunkResult`: :data:`AS_PLANNED` when the chunk turned out
exactly as the part of the status document stored at enqueue says (an upload whose devices
all registered), else :class:`WorkedOut` with every item's outcome. Raising
:class:`ChunkAttemptFailed` makes this attempt fail as a crash would: the chunk is retried,
or failed for good once out of attempts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import ColumnElement, Connection

from ztd.server.jobs.documents import ItemOutcome
from ztd.server.jobs.items import ItemRow, in_span, read_items


@dataclass(frozen=True, slots=True)
class JobFields:
    """The job a chunk belongs to (a ``batch_jobs`` row, the parts kinds read)."""

    id: str  # the batch tracking id
    kind: str
    partner_id: str
    customer_id: str
    batch_pk: int | None  # uploads: the batch the devices join


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """A chunk: its items are ordinals ``first_ordinal`` up to ``end_ordinal`` (exclusive)."""

    job_id: str
    chunk_no: int
    first_ordinal: int
    end_ordinal: int
    attempt: int  # 1 on the first claim
    # Uploads: how many devices land when all register (set at enqueue), else None.
    expected_inserts: int | None = None


@dataclass(slots=True)
class ChunkContext:
    """What a kind gets to process one chunk, inside the transaction that finishes it."""

    conn: Connection
    job: JobFields
    chunk: ChunkSpan
    now: datetime
    _items: list[ItemRow] | None = field(default=None, init=False, repr=False)

    def items(self) -> list[ItemRow]:
        """The chunk's items in request order, read once (later calls return the same list;
        call :meth:`reread_items` after changing them)."""
        if self._items is None:
            self._items = read_items(self.conn, self.chunk)
        return self._items

    def reread_items(self) -> list[ItemRow]:
        self._items = None
        return self.items()

    def in_chunk(self) -> ColumnElement[bool]:
        """The WHERE clause selecting this chunk's ``job_items`` rows, for set-based SQL."""
        return in_span(self.chunk)


class AsPlanned:
    """The chunk turned out as the part of the status document stored at enqueue says."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "AS_PLANNED"


AS_PLANNED: Final = AsPlanned()


@dataclass(frozen=True, slots=True)
class WorkedOut:
    """Every item of the chunk with its outcome, in order (``outcomes[i]`` is ``items[i]``'s)."""

    items: list[ItemRow]
    outcomes: list[ItemOutcome]


ChunkResult = AsPlanned | WorkedOut


class ChunkAttemptFailed(Exception):
    """This attempt at the chunk fails as a crash would: retried, or failed once out of
    attempts. The transaction is rolled back."""


class JobKind(Protocol):
    """One kind of asynchronous work (``batch_jobs.kind``)."""

    @property
    def name(self) -> str: ...

    def process(self, ctx: ChunkContext) -> ChunkResult:
        """Do the chunk's work with ``ctx.conn``. Raises ChunkAttemptFailed to retry."""
        ...
