"""``GET /metrics``: this process's series (or, in multiprocess mode, every process's), and
the job queue read from the database at scrape time, never on a request's path."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ztd.server.clock import Clock, as_utc
from ztd.server.jobs.states import ChunkState
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, job_chunks

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
_STATES = (ChunkState.QUEUED.value, ChunkState.RUNNING.value)


class QueueCollector(Collector):
    """Job chunks waiting or leased, the jobs they belong to, and how long the oldest queued
    chunk has waited: the same for every process, so read from the shared database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        chunk = job_chunks.c
        with self.db.read() as conn:
            # Served by the (status, pk) index: done chunks, however many, are not read.
            counts = {
                row.status: row
                for row in conn.execute(
                    select(
                        chunk.status,
                        func.count().label("chunks"),
                        func.count(chunk.job_id.distinct()).label("jobs"),
                    )
                    .where(chunk.status.in_(_STATES))
                    .group_by(chunk.status)
                )
            }
            oldest = conn.execute(
                select(func.min(batch_jobs.c.created_at))
                .select_from(job_chunks.join(batch_jobs, batch_jobs.c.id == chunk.job_id))
                .where(chunk.status == ChunkState.QUEUED.value)
            ).scalar()
        chunks = GaugeMetricFamily(
            "ztd_job_chunks",
            "Job chunks by state (queued: waiting; running: leased).",
            labels=["state"],
        )
        jobs = GaugeMetricFamily("ztd_jobs", "Jobs with chunks in that state.", labels=["state"])
        for state in _STATES:
            row = counts.get(state)
            chunks.add_metric([state], row.chunks if row else 0)
            jobs.add_metric([state], row.jobs if row else 0)
        age = GaugeMetricFamily(
            "ztd_oldest_queued_chunk_age_seconds",
            "Time since the job of the oldest queued chunk was submitted (0: none queued).",
        )
        age.add_metric([], (self.clock() - as_utc(oldest)).total_seconds() if oldest else 0.0)
        yield chunks
        yield jobs
        yield age


def render(queue: QueueCollector) -> bytes:
    """The exposition text for one scrape."""
    queue_registry = CollectorRegistry(auto_describe=False)
    queue_registry.register(queue)
    if os.environ.get(MULTIPROC_DIR):
        # Each process writes its series to files there; a scrape, answered by any one of
        # them, adds them all up.
        shared = CollectorRegistry()
        MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
        return generate_latest(shared) + generate_latest(queue_registry)
    return generate_latest(REGISTRY) + generate_latest(queue_registry)
