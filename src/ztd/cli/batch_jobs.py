"""Following the batch jobs one command starts, and reporting how their devices fared.

The service takes a bounded number of devices per request (ztd: ZTD_MAX_DEVICES_PER_REQUEST,
10,000 by default; Partner Center documents no limit). A larger upload or policy assignment
is sent as several requests, each its own batch job, and the commands follow them together:
one progress bar over every device, one summary of the errors, one exit code.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ztd.cli.failures import Failure, failures_of, print_failures
from ztd.cli.output import EXIT_INTERRUPTED, SUCCEEDED, plural
from ztd.client import BatchUploadPoller, PartnerError, PollingTimeoutError
from ztd.identity.dds import remedy_of
from ztd.wire import BatchUploadDetails, DeviceUploadStatusType

PER_REQUEST = 10_000  # ztd's default limit; a larger request would be refused with a 400
T = TypeVar("T")
_DONE = (DeviceUploadStatusType.FINISHED, DeviceUploadStatusType.FINISHED_WITH_ERRORS)


def devices_done(details: BatchUploadDetails) -> int:
    """How many devices of a job have an outcome (registered or failed)."""
    return sum(1 for d in details.devices_status if d.status in _DONE)


def progress_of(last: BatchUploadDetails | None) -> str:
    """Where a job stood at its last status read, for messages."""
    if last is None:
        return "no status was read"
    total = len(last.devices_status)
    return f"status {last.status.value}, {devices_done(last)} of {total} devices done"


@dataclass(frozen=True)
class StartedJob:
    poller: BatchUploadPoller
    devices: int  # how many devices its request carried


def in_parts(items: Sequence[T], size: int = PER_REQUEST) -> list[Sequence[T]]:
    """``items`` in consecutive runs of at most ``size`` (one per request)."""
    return [items[first : first + size] for first in range(0, len(items), size)]


def start_all(
    parts: Sequence[Sequence[T]],
    start: Callable[[int, Sequence[T]], BatchUploadPoller],
    err: Console,
    customer: str,
    into: str | None = None,
) -> list[StartedJob]:
    """Send one request per part (``start(n, part)``). Should one fail, or Ctrl-C come,
    after others were accepted, says which jobs exist (in batch ``into``, if given) and how
    to follow them, and which devices were not sent, before the error goes on (an
    interruption: exit 130). The accepted jobs run regardless."""
    jobs: list[StartedJob] = []
    for n, part in enumerate(parts):
        try:
            jobs.append(StartedJob(start(n, part), len(part)))
        except KeyboardInterrupt:
            err.print(
                "\n" + escape(stopped_part_way(jobs, parts, customer, into, None)),
                highlight=False,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except PartnerError:
            if jobs:
                message = stopped_part_way(jobs, parts, customer, into, "the error below")
                err.print(f"[yellow]{escape(message)}[/]", highlight=False)
            raise
    return jobs


def stopped_part_way(
    jobs: Sequence[StartedJob],
    parts: Sequence[Sequence[Any]],
    customer: str,
    into: str | None,
    cause: str | None,
) -> str:
    """What a run of requests stopped by ``cause`` (None: Ctrl-C) leaves behind: the jobs
    accepted, how to follow them, and the devices not sent (by position, 1-based)."""
    total = sum(map(len, parts))
    sent = sum(job.devices for job in jobs)
    where = f" into batch {into!r}" if into is not None else ""
    if not jobs:
        return (
            "interrupted: no request was answered yet; the one cut off may still have been "
            f"accepted{where}: `ztd batches list --customer {customer}` shows the batches"
        )
    ids = ", ".join(job.poller.tracking_id for job in jobs)
    said = (
        f"{sent:,} of {plural(total, 'device')} were sent{where} before {cause}"
        if cause is not None
        else f"interrupted: {sent:,} of {plural(total, 'device')} were sent{where}"
    )
    lines = [
        f"{said}, as {'job' if len(jobs) == 1 else 'jobs'} {ids}; they are processed regardless",
        f"follow {'it' if len(jobs) == 1 else 'them'} with: "
        + follow_commands(customer, [job.poller.tracking_id for job in jobs]),
        f"not sent: devices {sent + 1:,} to {total:,} ({total - sent:,}); "
        + (
            "the request cut off may have been accepted as one more job"
            if cause is None
            else "send them again once the error is fixed"
        ),
    ]
    return "\n".join(lines)


def follow_commands(customer: str, tracking_ids: Sequence[str]) -> str:
    """The `ztd status --wait` commands that follow these jobs."""
    return "; ".join(f"`ztd status --customer {customer} {tid} --wait`" for tid in tracking_ids)


def jobs_json(jobs: Sequence[StartedJob]) -> list[dict[str, Any]]:
    return [
        {"trackingId": j.poller.tracking_id, "location": j.poller.location, "devices": j.devices}
        for j in jobs
    ]


def wait_all(
    jobs: Sequence[StartedJob],
    timeout: float | None,
    progress_on: Console | None,
    *,
    via_events: bool = False,
) -> list[BatchUploadDetails]:
    """Every job's final status, in order; PollingTimeoutError once ``timeout`` seconds have
    passed in all. With ``progress_on``, one progress bar over the devices of every job.
    ``via_events``: each job is waited on through its completion event (the poller's
    ``wait(via_events=True)``, a channel per job, one job after the other)."""
    deadline = math.inf if timeout is None else time.monotonic() + timeout

    def left(n: int) -> float | None:
        # The first job gets the timeout as given (its message names it); later ones what
        # is left of it.
        return timeout if timeout is None or n == 0 else max(0.0, deadline - time.monotonic())

    if progress_on is None:
        return [_result(jobs, n, left(n), timeout, None, via_events) for n in range(len(jobs))]
    ids = ", ".join(job.poller.tracking_id for job in jobs)
    progress_on.print(
        f"tracking id{'s' if len(jobs) > 1 else ''} {ids}; waiting for every device",
        highlight=False,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("devices"),
        TimeElapsedColumn(),
    )
    results: list[BatchUploadDetails] = []
    with Progress(*columns, console=progress_on) as progress:
        task = progress.add_task("queued", total=sum(job.devices for job in jobs))
        for n in range(len(jobs)):
            before = sum(devices_done(d) for d in results)
            label = f"job {n + 1} of {len(jobs)}: " if len(jobs) > 1 else ""

            def update(
                details: BatchUploadDetails, before: int = before, label: str = label
            ) -> None:
                progress.update(
                    task,
                    completed=before + devices_done(details),
                    description=label + details.status.value,
                )

            results.append(_result(jobs, n, left(n), timeout, update, via_events))
    return results


def _result(
    jobs: Sequence[StartedJob],
    n: int,
    wait: float | None,
    timeout: float | None,
    on_update: Callable[[BatchUploadDetails], None] | None = None,
    via_events: bool = False,
) -> BatchUploadDetails:
    """Job ``n``'s final status. Should a later job run out of the time left, the error
    names the whole --timeout and every job still unfinished, not a fraction of a second."""
    try:
        return jobs[n].poller.result(wait, on_update=on_update, via_events=via_events)
    except PollingTimeoutError as exc:
        if n == 0:
            raise
        waiting = ", ".join(job.poller.tracking_id for job in jobs[n:])
        raise PollingTimeoutError(
            f"{len(jobs) - n} of {len(jobs)} batch jobs did not finish within {timeout} s "
            f"({waiting}); the first of them: {progress_of(exc.last_status)}",
            tracking_id=exc.tracking_id,
            last_status=exc.last_status,
            continuation_token=exc.continuation_token,
        ) from exc


def has_failures(results: Sequence[BatchUploadDetails]) -> bool:
    return any(
        details.status is DeviceUploadStatusType.FINISHED_WITH_ERRORS or details.failed_devices
        for details in results
    )


def error_summary(results: Sequence[BatchUploadDetails]) -> list[dict[str, Any]]:
    """One entry per error over all the jobs, most frequent first, with what to do."""
    counts = Counter(
        (d.error_code, d.error_description)
        for details in results
        for d in details.devices_status
        if d.error_code or d.error_description
    )
    return [
        {
            "errorCode": code,
            "errorDescription": name,
            "devices": count,
            "remedy": remedy_of(code, name),
        }
        for (code, name), count in counts.most_common()
    ]


def print_report(
    console: Console,
    results: Sequence[BatchUploadDetails],
    failures: Sequence[Failure] | None = None,
    more_hint: str = "--json lists them all",
) -> None:
    """A line of counts per job ("3 of 3 devices processed, 2 succeeded, 1 failed", the
    same words for every kind of job), a total over several, then the failed devices by
    error over them all (``failures``, or those the documents give)."""
    for details in results:
        console.print(
            f"batch job [bold]{escape(details.batch_tracking_id or '?')}[/]: "
            f"{details.status.value}; {_counted([details])}",
            highlight=False,
        )
    if len(results) > 1:
        console.print(f"all {len(results)} jobs: {_counted(results)}", highlight=False)
    failed = failures_of(results) if failures is None else failures
    if failed:
        print_failures(console, failed, more_hint)


def _counted(results: Sequence[BatchUploadDetails]) -> str:
    statuses = [d for details in results for d in details.devices_status]
    failed = sum(1 for d in statuses if d.error_code or d.error_description)
    done = sum(devices_done(details) for details in results)
    return (
        f"{done:,} of {plural(len(statuses), 'device')} processed, {done - failed:,} {SUCCEEDED}, "
        f"{failed:,} failed"
    )
