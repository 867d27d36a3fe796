"""The worker: claims chunks, processes them under a heartbeat-extended lease, finishes them
fenced, and reaps chunks whose worker died. ``ztd worker`` runs one standalone; ``ztd serve``
runs one in a thread of the API process unless ``--no-worker``."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import OperationalError

from ztd.identity import dds
from ztd.server.clock import Clock, utc_now
from ztd.server.jobs import finishing, leases, owners
from ztd.server.jobs.contract import (
    AsPlanned,
    ChunkAttemptFailed,
    ChunkContext,
    ChunkSpan,
    JobFields,
    JobKind,
)
from ztd.server.jobs.documents import ItemOutcome, chunk_part, precheck_outcome
from ztd.server.jobs.finishing import FinishedJob, finish_job_if_complete
from ztd.server.jobs.interrupt import ChunkInterrupted, ChunkInterrupter
from ztd.server.jobs.items import read_items
from ztd.server.jobs.kinds.registry import UnknownJobKind, job_kinds
from ztd.server.jobs.notify import JobListener
from ztd.server.observe import job_events, logs, tracing
from ztd.server.observe.metrics import LEASES_LOST
from ztd.server.services.housekeeping import purge_expired_request_ids, purge_finished_jobs
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs
from ztd.server.webhooks import events as webhook_events
from ztd.server.webhooks.delivery import Deliverer
from ztd.server.webhooks.dispatch import Dispatcher

log = logging.getLogger("ztd.worker")


class Worker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        wakeup: threading.Event | None = None,
        webhook_wakeup: threading.Event | None = None,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.wakeup = wakeup or threading.Event()
        # Host, process id and start time: a restarted worker of this host can then tell
        # that this one died and reclaim its chunks at once (jobs.owners).
        self.name = name or str(owners.this_process())
        self.kinds = job_kinds(settings)
        # Set when the worker is asked to stop (run_forever's event): no more claims, and
        # the chunk in progress is finished within the grace period or released.
        self.stopping = threading.Event()
        self.interrupter: ChunkInterrupter | None = None  # while run_forever runs
        # Webhooks are sent from threads beside the chunk loop, never in it: a slow
        # endpoint holds one sender, not the jobs (webhooks.dispatch).
        self.deliverer = Deliverer(db, settings, clock=clock)
        self.dispatcher = Dispatcher(
            self.deliverer,
            concurrency=settings.webhook_concurrency,
            poll_interval=settings.poll_interval_seconds,
            grace=settings.shutdown_grace_seconds,
            wake=webhook_wakeup,
        )
        # Each finished job's webhook event, in its finishing transaction (an outbox row).
        finishing.on_job_finished(webhook_events.record_job_completed)
        self._last_reap = 0.0
        self.listener: JobListener | None = None  # PostgreSQL: wakes the worker on NOTIFY

    def run_once(self) -> bool:
        """Process one chunk if one is queued. Returns whether there was work."""
        if self.stopping.is_set():
            return False
        with self.db.write() as conn:
            lease = leases.claim(
                conn,
                owner=self.name,
                now=self.clock(),
                lease_seconds=self.settings.lease_seconds,
            )
        if lease is None:
            return False
        started = time.perf_counter()
        interrupter = self.interrupter
        # The job's request fields (correlation id, partner, customer) join once its row is
        # read: every line about this chunk's devices carries them.
        with logs.bound(tracking_id=lease.job_id), _Heartbeat(self, lease):
            try:
                report = self._finish_retrying(lease, interrupter)
            except leases.LeaseLost:
                LEASES_LOST.inc()
                log.warning("dropped chunk %s of job %s: lease lost", lease.chunk_no, lease.job_id)
            except ChunkAttemptFailed as exc:  # e.g. an emulator rule: retried like a crash
                log.info("chunk %s of job %s: %s", lease.chunk_no, lease.job_id, exc)
                with self.db.write() as conn:
                    leases.expire(conn, lease, self.clock())
                self.reap()  # requeued, or failed for good once out of attempts
            except Exception:
                if interrupter is None or not interrupter.fired:
                    raise
                self._release(lease)
            else:
                job_events.record(report, _span(lease), time.perf_counter() - started)
                if report.finished is not None:  # committed, with its webhook event if any
                    self.dispatcher.wake()
        return True

    def _release(self, lease: leases.Lease) -> None:
        """The chunk was rolled back on the way out: hand it to the next worker now."""
        with self.db.write() as conn:
            released = leases.release(conn, lease)
        log.info(
            "released chunk %s of job %s while stopping%s",
            lease.chunk_no,
            lease.job_id,
            "" if released else " (it was no longer held)",
        )

    def run_until_idle(self) -> int:
        """Reap, then process chunks until none is queued (tests and `--once`)."""
        self.reap()
        done = 0
        while self.run_once():
            done += 1
        return done

    def run_forever(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; then claim nothing more, finish or release the chunk
        in progress (within ``shutdown_grace_seconds`` plus a rollback) and return."""
        self.stopping = stop
        self.interrupter = ChunkInterrupter(stop, self.settings.shutdown_grace_seconds)
        self.interrupter.start()
        log.info("worker %s started", self.name)
        if not self.db.is_sqlite:
            self.listener = JobListener(self.db.url, self.wakeup)
            self.listener.start()
        self.dispatcher.start(stop)
        try:
            self._loop(stop)
        finally:
            stop.set()  # (an error ended the loop: the dispatcher stops too)
            self.interrupter.close()
            self.interrupter = None
            if self.listener is not None:
                self.listener.stop()
            # Its sends in flight had the same grace, counted from the stop, as the chunk.
            if not self.dispatcher.join():
                self.deliverer.close()  # (an abandoned send may still be using it)
        log.info("worker %s stopped", self.name)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            # Cleared before looking for work, not after waiting: a wake-up that lands while
            # this looks is then kept, not lost for a poll interval.
            self.wakeup.clear()
            try:
                if time.monotonic() - self._last_reap > self.settings.lease_seconds / 3:
                    self.housekeep()
                if self.run_once():
                    continue
            except Exception:  # keep serving; the lease expires and another attempt follows
                log.exception("worker %s: processing failed", self.name)
                stop.wait(self.settings.poll_interval_seconds)
                continue
            self.wakeup.wait(self.settings.poll_interval_seconds)

    def housekeep(self) -> None:
        """The periodic pass: reap leases, forget old request ids, purge old finished jobs."""
        self.reap()
        purge_finished_jobs(
            self.db, now=self.clock(), retention_days=self.settings.job_retention_days
        )

    def reap(self) -> None:
        self._last_reap = time.monotonic()
        finished: list[FinishedJob] = []
        with self.db.write() as conn:
            now = self.clock()
            reaped = leases.reap(conn, now=now, max_attempts=self.settings.max_attempts)
            for chunk in reaped.exhausted:
                log.error("chunk %s of job %s failed too often", chunk.chunk_pk, chunk.job_id)
                rows = read_items(conn, chunk)
                failure: ItemOutcome = [None, dds.STORAGE_ERROR.code, dds.STORAGE_ERROR.name]
                # An item refused at enqueue (802, 803, a duplicate) keeps that answer.
                outcomes: list[ItemOutcome] = [
                    precheck_outcome(row) if row.precheck_name else failure for row in rows
                ]
                leases.mark_done(conn, chunk.chunk_pk, chunk_part([r.echo for r in rows], outcomes))
                job = finish_job_if_complete(
                    conn,
                    chunk.job_id,
                    now,
                    status_with_errors=self.settings.batch_status_with_errors,
                )
                if job is not None:
                    finished.append(job)
            purge_expired_request_ids(
                conn, now=now, retention_hours=self.settings.idempotency_retention_hours
            )
        for rescued in reaped.rescued:  # committed
            self._log_rescue(rescued)
        for job in finished:
            job_events.record_finished(job)
        if finished:
            self.dispatcher.wake()

    def _log_rescue(self, chunk: leases.RescuedChunk) -> None:
        """One line per chunk queued again: a worker died or stalled (the metric
        ztd_reaper_rescues_total counts them; this says which and whose)."""
        with logs.bound(tracking_id=chunk.job_id):
            log.warning(
                "rescued chunk %d of job %s from %s (%s); attempt %d of %d next",
                chunk.chunk_no,
                chunk.job_id,
                chunk.previous_owner or "no owner",
                chunk.reason,
                chunk.attempts + 1,
                self.settings.max_attempts,
                extra={
                    "chunk": chunk.chunk_no,
                    "previous_owner": chunk.previous_owner,
                    "reason": chunk.reason,
                    "attempt": chunk.attempts + 1,
                },
            )

    def _finish_retrying(
        self, lease: leases.Lease, interrupter: ChunkInterrupter | None
    ) -> job_events.ChunkReport:
        """Two jobs registering the same devices in different orders can deadlock on the
        unique keys; PostgreSQL aborts one transaction, which is simply run again."""
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                return self._finish(lease, interrupter)
            except OperationalError as exc:
                fired = interrupter is not None and interrupter.fired
                if attempt == TRANSIENT_RETRIES or not _is_transient(exc) or fired:
                    raise
                log.info("chunk %s of job %s: %s; retrying", lease.chunk_no, lease.job_id, exc.orig)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")  # the last attempt returned or raised

    def _finish(
        self, lease: leases.Lease, interrupter: ChunkInterrupter | None = None
    ) -> job_events.ChunkReport:
        with self.db.write() as conn:
            if interrupter is not None:
                interrupter.attach(conn)
            try:
                leases.fence(conn, lease)
                job = conn.execute(select(batch_jobs).where(batch_jobs.c.id == lease.job_id)).one()
                logs.bind(
                    correlation_id=job.correlation_id,
                    partner_id=job.partner_id,
                    customer_id=job.customer_id,
                )
                with tracing.job_span("ztd.chunk", job.traceparent, job_kind=job.kind):
                    report = self._finish_in(conn, lease, job)
            finally:
                # Before the commit: a late cancel must not hit it, nor this connection's
                # next user.
                cancelled = interrupter is not None and interrupter.detach()
            if cancelled:  # a cancel may have missed every statement: never commit after one
                raise ChunkInterrupted(f"chunk {lease.chunk_no} of job {lease.job_id}")
            return report

    def _finish_in(
        self, conn: Connection, lease: leases.Lease, job: Row[Any]
    ) -> job_events.ChunkReport:
        """The chunk's work, in the transaction that fences it."""
        now = self.clock()
        kind = self._kind(job.kind)
        chunk = _span(lease)
        ctx = ChunkContext(conn, _fields(job), chunk, now)
        result = kind.process(ctx)
        report = job_events.ChunkReport(job.kind)
        if isinstance(result, AsPlanned):
            report.outcomes = job_events.planned_outcomes(conn, chunk)
            leases.mark_done(conn, lease.chunk_pk, result)
        else:
            report.outcomes = job_events.count_outcomes(result.outcomes)
            part = chunk_part([row.echo for row in result.items], result.outcomes)
            leases.mark_done(conn, lease.chunk_pk, part)
        report.finished = finish_job_if_complete(
            conn,
            lease.job_id,
            now,
            status_with_errors=self.settings.batch_status_with_errors,
        )
        return report

    def _kind(self, name: str) -> JobKind:
        try:
            return self.kinds[name]
        except KeyError:
            raise UnknownJobKind(f"no job kind {name!r} in this version of ztd") from None


def _span(lease: leases.Lease) -> ChunkSpan:
    return ChunkSpan(
        job_id=lease.job_id,
        chunk_no=lease.chunk_no,
        first_ordinal=lease.first_ordinal,
        end_ordinal=lease.end_ordinal,
        attempt=lease.attempts,
        expected_inserts=lease.expected_inserts,
    )


def _fields(job: Row[Any]) -> JobFields:
    return JobFields(job.id, job.kind, job.partner_id, job.customer_id, job.batch_pk)


TRANSIENT_RETRIES = 5
_TRANSIENT_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _is_transient(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


class _Heartbeat:
    """Extends the lease every third of its length while the chunk is processed."""

    def __init__(self, worker: Worker, lease: leases.Lease) -> None:
        self.worker = worker
        self.lease = lease
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="ztd-heartbeat")

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        interval = self.worker.settings.lease_seconds / 3
        while not self.stop.wait(interval):
            try:
                with self.worker.db.write() as conn:
                    alive = leases.heartbeat(
                        conn,
                        self.lease,
                        now=self.worker.clock(),
                        lease_seconds=self.worker.settings.lease_seconds,
                    )
            except Exception:
                log.exception("heartbeat failed")
                continue
            if not alive:
                return


class WorkerThread:
    """A worker in a daemon thread of the API process (the embedded default)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=worker.run_forever, args=(self.stop,), daemon=True, name="ztd-worker"
        )

    def start(self) -> None:
        self.thread.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        self.worker.wakeup.set()
        self.thread.join(timeout)
