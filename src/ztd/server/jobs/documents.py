"""BatchUploadDetails documents, assembled from per-chunk parts.

Each chunk's ``devicesStatus`` entries are serialized once and stored with it: an upload's
at enqueue, as they read if its devices register (the worker rewrites them if not), any
other job's when the chunk is done. A document is then a header, the chunks' parts joined
by commas, and a trailer: the transaction finishing a job's last chunk stores the final
document without looking at a single device, and a poll of a running job renders only the
chunks still queued or running. Reading a running job costs a fixed number of queries
whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import Connection, Row, select

from ztd.server.clock import wire_time
from ztd.server.jobs.states import ChunkState
from ztd.server.storage.schema import job_chunks, job_items
from ztd.wire import DeviceUploadStatusType as Status

FINISHED = Status.FINISHED.value
FAILED = Status.FINISHED_WITH_ERRORS.value
PROCESSING = Status.PROCESSING.value
QUEUED = Status.QUEUED.value
DONE = ChunkState.DONE.value  # running_document's cache key of a done chunk's part

# One chunk outcome per item, in ordinal order: [device_id, error_code, error_name], and
# optionally a fourth element for people, rendered as errorDetail: why the item was refused
# and what to do (errorDescription stays the DDS name, as Partner Center sends it).
ItemOutcome = list[str | None]
ItemEcho = tuple[str | None, str | None, str | None]  # device_ref, serial, product key

_ITEM_ATTRIBUTES = {"objectType": "DeviceUploadDetails"}
_DEVICES_OPEN = b',"devicesStatus":['
_TRAILER = b'],"attributes":{"objectType":"BatchUploadDetails"}}'


class Prechecked(Protocol):
    """An item as enqueue left it: a device id when it passed the prechecks, else the
    refusal (code, name, and the validator's reason for people)."""

    @property
    def device_id(self) -> str | None: ...
    @property
    def precheck_code(self) -> str | None: ...
    @property
    def precheck_name(self) -> str | None: ...
    @property
    def precheck_detail(self) -> str | None: ...


def precheck_outcome(item: Prechecked) -> ItemOutcome:
    """The answer of an item refused at enqueue (802, 803, 801, a duplicate), with the
    validator's reason; it keeps this answer whatever happens to its chunk."""
    outcome: ItemOutcome = [None, item.precheck_code, item.precheck_name]
    if item.precheck_detail:
        outcome.append(item.precheck_detail)
    return outcome


def planned_outcome(item: Prechecked) -> ItemOutcome:
    """An upload item's outcome if its device registers: the id it was given at enqueue,
    or, for an item that failed the prechecks (and got no id), that refusal."""
    if item.device_id is not None:
        return [item.device_id, None, None]
    return precheck_outcome(item)


class ChunkPart(NamedTuple):
    """A done chunk's serialized entries, and how many of its devices failed."""

    entries: bytes
    failed: int


def chunk_part(echo: Sequence[ItemEcho], outcomes: Sequence[ItemOutcome]) -> ChunkPart:
    return ChunkPart(render_entries(echo, outcomes), sum(1 for o in outcomes if o[2]))


def render_entries(
    echo: Sequence[ItemEcho], outcomes: Sequence[ItemOutcome] | None, pending: str = QUEUED
) -> bytes:
    """The ``devicesStatus`` entries of consecutive items, serialized and comma-separated
    (no brackets): with their outcomes when done, else all ``pending``."""
    entries: list[dict[str, Any]] = []
    for offset, (device_ref, serial, product_key) in enumerate(echo):
        outcome = outcomes[offset] if outcomes is not None else (device_ref, 0, 0)
        device_id, code, name = outcome[0], outcome[1], outcome[2]
        entry: dict[str, Any] = {}
        if device_id:
            entry["deviceId"] = device_id
        if serial is not None:
            entry["serialNumber"] = serial
        if product_key is not None:
            entry["productKey"] = product_key
        if outcomes is None:
            entry["status"] = pending
        else:
            entry["status"] = FAILED if name else FINISHED
            if code:
                entry["errorCode"] = code
            if name:
                entry["errorDescription"] = name
            if len(outcome) > 3 and outcome[3]:  # beyond Partner Center's fields: the reason
                entry["errorDetail"] = outcome[3]
        entry["attributes"] = _ITEM_ATTRIBUTES
        entries.append(entry)
    return orjson.dumps(entries)[1:-1]


def load_echo(
    conn: Connection, job_id: str, first: int = 0, end: int | None = None
) -> list[ItemEcho]:
    """What the document echoes of items ``first`` up to ``end`` (exclusive; all when None).
    It never changes once the job exists."""
    query = select(job_items.c.device_ref, job_items.c.serial_number, job_items.c.product_key)
    query = query.where(job_items.c.job_id == job_id, job_items.c.ordinal >= first)
    if end is not None:
        query = query.where(job_items.c.ordinal < end)
    # Plain text columns need no result processing; the driver's own tuples are several
    # times cheaper than SQLAlchemy Rows for a 10,000-device job.
    return list(conn.execute(query.order_by(job_items.c.ordinal)).cursor.fetchall())


def load_chunks(conn: Connection, job_id: str) -> Sequence[Any]:
    """Each chunk's number, item range and state (small: no parts)."""
    return conn.execute(
        select(
            job_chunks.c.chunk_no,
            job_chunks.c.first_ordinal,
            job_chunks.c.end_ordinal,
            job_chunks.c.status,
        )
        .where(job_chunks.c.job_id == job_id)
        .order_by(job_chunks.c.chunk_no)
    ).all()


def load_parts(
    conn: Connection, job_id: str, chunk_nos: Sequence[int] | None = None
) -> dict[int, ChunkPart]:
    """The parts of the job's done chunks (of those in ``chunk_nos``, when given)."""
    query = select(job_chunks.c.chunk_no, job_chunks.c.entries, job_chunks.c.failed).where(
        job_chunks.c.job_id == job_id, job_chunks.c.status == ChunkState.DONE.value
    )
    if chunk_nos is not None:
        query = query.where(job_chunks.c.chunk_no.in_(chunk_nos))
    return {
        chunk_no: ChunkPart(bytes(entries), failed)
        for chunk_no, entries, failed in conn.execute(query)
    }


def assemble(
    job: Row[Any], status: str, parts: Sequence[bytes], completed: datetime | None
) -> bytes:
    """The document from its header fields and the chunks' parts, in the documented property
    order: status, startedTime, completedTime, devicesStatus, attributes."""
    header: dict[str, Any] = {"batchTrackingId": job.id, "status": status}
    if job.started_at is not None:
        header["startedTime"] = wire_time(job.started_at)
    if completed is not None:
        header["completedTime"] = wire_time(completed)
    devices = b",".join(part for part in parts if part)
    return orjson.dumps(header)[:-1] + _DEVICES_OPEN + devices + _TRAILER


def running_document(
    conn: Connection,
    job: Row[Any],
    chunks: Sequence[Any],
    echo: Sequence[ItemEcho],
    rendered: dict[tuple[int, str], bytes],
) -> bytes:
    """The document of an unfinished job. ``rendered`` keeps parts between calls, keyed by
    chunk and state: a chunk's items never change, only its state does."""
    unseen = [
        c.chunk_no
        for c in chunks
        if c.status == ChunkState.DONE and (c.chunk_no, DONE) not in rendered
    ]
    if unseen:
        loaded = load_parts(conn, job.id, unseen)
        for chunk_no, part in loaded.items():
            rendered[chunk_no, DONE] = part.entries
    parts: list[bytes] = []
    for chunk in chunks:
        if chunk.status == ChunkState.DONE:
            parts.append(rendered[chunk.chunk_no, DONE])
            rendered.pop((chunk.chunk_no, QUEUED), None)  # states never come back
            rendered.pop((chunk.chunk_no, PROCESSING), None)
            continue
        pending = PROCESSING if chunk.status == ChunkState.RUNNING else QUEUED
        if pending == PROCESSING:
            rendered.pop((chunk.chunk_no, QUEUED), None)
        if (chunk.chunk_no, pending) not in rendered:
            items = echo[chunk.first_ordinal : chunk.end_ordinal]
            rendered[chunk.chunk_no, pending] = render_entries(items, None, pending)
        parts.append(rendered[chunk.chunk_no, pending])
    return assemble(job, job.status, parts, job.completed_at)
