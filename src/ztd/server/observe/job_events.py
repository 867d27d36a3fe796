"""What a worker reports once a chunk is committed: the devices' outcomes (counted and
logged under the job's request context) and, for a job's last chunk, its latency (from the
:class:`~ztd.server.jobs.finishing.FinishedJob` the finishing transaction produced)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from ztd.server.jobs.contract import ChunkSpan
from ztd.server.jobs.documents import ItemOutcome
from ztd.server.jobs.finishing import FinishedJob
from ztd.server.jobs.items import in_span
from ztd.server.observe.metrics import CHUNK_DURATION, DEVICES_PROCESSED, JOB_LATENCY
from ztd.server.storage.schema import job_items

log = logging.getLogger("ztd.worker")
OK = "ok"


@dataclass
class ChunkReport:
    kind: str
    outcomes: Counter[str] = field(default_factory=Counter)
    finished: FinishedJob | None = None  # set when this chunk finished its job


def outcome_label(outcome: ItemOutcome) -> str:
    """'ok', or the error code (the name where Microsoft gives no number)."""
    return outcome[1] or outcome[2] or OK


def count_outcomes(outcomes: Sequence[ItemOutcome]) -> Counter[str]:
    return Counter(outcome_label(o) for o in outcomes)


def planned_outcomes(conn: Connection, chunk: ChunkSpan) -> Counter[str]:
    """A chunk that turned out as planned at enqueue: its expected devices registered, and
    the rest are the items refused then (802, 803, duplicates), counted from their rows."""
    registered = chunk.expected_inserts or 0
    counts: Counter[str] = Counter({OK: registered} if registered else {})
    if chunk.end_ordinal - chunk.first_ordinal > registered:
        rows = conn.execute(
            select(job_items.c.precheck_code, job_items.c.precheck_name, func.count())
            .where(in_span(chunk), job_items.c.precheck_name.is_not(None))
            .group_by(job_items.c.precheck_code, job_items.c.precheck_name)
        )
        for code, name, n in rows:
            counts[code or name] += n
    return counts


def record(report: ChunkReport, chunk: ChunkSpan, seconds: float) -> None:
    """Count and log a committed chunk (the log context holds the job's request fields)."""
    CHUNK_DURATION.labels(report.kind).observe(seconds)
    for outcome, n in report.outcomes.items():
        DEVICES_PROCESSED.labels(report.kind, outcome).inc(n)
    log.info(
        "chunk %d of job %s done: %s",
        chunk.chunk_no,
        chunk.job_id,
        ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.outcomes.items())),
        extra={
            "chunk": chunk.chunk_no,
            "devices": chunk.end_ordinal - chunk.first_ordinal,
            "outcomes": dict(report.outcomes),
            "duration_ms": round(seconds * 1e3, 1),
        },
    )
    if report.finished is not None:
        record_finished(report.finished)


def record_finished(job: FinishedJob) -> None:
    """Observe and log a committed job's submit-to-finish latency."""
    latency = (job.completed_at - job.created_at).total_seconds()
    JOB_LATENCY.labels(job.kind).observe(latency)
    log.info(
        "job %s finished %.3f s after it was submitted",
        job.job_id,
        latency,
        extra={"latency_seconds": latency},
    )
