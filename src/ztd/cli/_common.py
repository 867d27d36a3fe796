"""What the partner commands share (`ztd upload`, `ztd status`, `ztd batches`, `ztd devices`,
`ztd policies`): the SDK client the environment configures, one line and an exit code for
any SDK failure, the common options, JSON output and how a started job is reported.

Configuration: ``ZTD_URL`` (default http://127.0.0.1:8000) and ``ZTD_TOKEN``, or
``ZTD_CLIENT_ID`` + ``ZTD_CLIENT_SECRET`` for ztd's built-in client-credentials issuer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from ztd.cli.batch_jobs import (
    StartedJob,
    error_summary,
    follow_commands,
    has_failures,
    progress_of,
    wait_all,
)
from ztd.cli.durations import MAX_WAIT_SECONDS, finite_seconds
from ztd.cli.output import (
    EXIT_CALL_FAILED,
    EXIT_DEVICE_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_TIMEOUT,
    console,
    fail,
    plural,
)
from ztd.client import (
    ClientCredentials,
    PartnerClient,
    PartnerError,
    PollingTimeoutError,
    RetryPolicy,
    ServiceRequestError,
    UnauthorizedError,
)
from ztd.wire import BatchUploadDetails, WireModel

DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_HELP = (
    "Configured by ZTD_URL (default http://127.0.0.1:8000) and ZTD_TOKEN, "
    "or ZTD_CLIENT_ID and ZTD_CLIENT_SECRET."
)
# The CLI's retry policy; tests replace it to fail fast on a closed port.
RETRY_POLICY = RetryPolicy()
# More PartnerClient arguments; tests set http_client, sleep and clock (an in-process app).
CLIENT_OPTIONS: dict[str, Any] = {}


# -- configuration and errors ----------------------------------------------------------------

# The partner command groups, with their help.
GROUPS = {
    "batches": "Device batches of a customer.",
    "devices": "Devices of a batch.",
    "policies": "Configuration policies (Autopilot OOBE settings) of a customer.",
    "webhooks": "Webhook registrations and their delivery log (ztd's /webhooks/v1).",
}


def subgroup(app: typer.Typer, name: str) -> typer.Typer:
    """The command group ``name`` of ``app``, added on first use: several modules add
    commands to one group (`ztd devices list` and `ztd devices assign-policy`), in any
    order, without importing each other."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=GROUPS[name], no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def stderr() -> Console:
    return console(stderr=True)


def stdout() -> Console:
    return console()


@contextmanager
def open_client() -> Iterator[PartnerClient]:
    """The SDK client the environment configures (closed, with its credential, on exit)."""
    url = os.environ.get("ZTD_URL", "").strip() or DEFAULT_URL
    token = os.environ.get("ZTD_TOKEN", "").strip()
    client_id = os.environ.get("ZTD_CLIENT_ID", "").strip()
    client_secret = os.environ.get("ZTD_CLIENT_SECRET", "").strip()
    if not token and not (client_id and client_secret):
        fail(
            "no credentials: set ZTD_TOKEN (e.g. from `ztd admin token`), "
            "or ZTD_CLIENT_ID and ZTD_CLIENT_SECRET",
            EXIT_CALL_FAILED,
        )
    with ExitStack() as stack:
        try:
            if token:
                client = PartnerClient(url, token=token, retry=RETRY_POLICY, **CLIENT_OPTIONS)
            else:
                credential = stack.enter_context(ClientCredentials(url, client_id, client_secret))
                client = PartnerClient(
                    url, credential=credential, retry=RETRY_POLICY, **CLIENT_OPTIONS
                )
        except ValueError as exc:
            fail(f"ZTD_URL: {exc}", EXIT_CALL_FAILED)
        with client:
            yield client


@contextmanager
def calling() -> Iterator[None]:
    """Any SDK failure becomes one line on stderr and an exit code, never a traceback."""
    try:
        yield
    except PollingTimeoutError as exc:  # the commands that wait say more; this is the floor
        fail(
            f"job {exc.tracking_id} not finished ({progress_of(exc.last_status)}); it goes on "
            "in the server: follow it with `ztd status --customer ID TRACKING-ID --wait`",
            EXIT_TIMEOUT,
        )
    except UnauthorizedError as exc:
        fail(f"{exc.message} (check ZTD_TOKEN or the client credentials)", EXIT_CALL_FAILED)
    except ServiceRequestError as exc:
        fail(f"{exc.message} (is the server running? ZTD_URL sets where)", EXIT_CALL_FAILED)
    except PartnerError as exc:
        fail(exc.message, EXIT_CALL_FAILED)
    except ValueError as exc:  # an argument the SDK refuses before calling, e.g. an empty id
        fail(str(exc), EXIT_CALL_FAILED)


# -- presenting results ----------------------------------------------------------------------


def echo_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def wire_list(items: list[Any]) -> list[dict[str, Any]]:
    return [item.to_wire() for item in items if isinstance(item, WireModel)]


def finish(results: Sequence[BatchUploadDetails]) -> None:
    if has_failures(results):
        raise typer.Exit(EXIT_DEVICE_FAILED)


# -- options -----------------------------------------------------------------------------------

CustomerOption = Annotated[
    str, typer.Option("--customer", metavar="TENANT-ID", help="The customer's tenant id.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0,
        max=MAX_WAIT_SECONDS,
        callback=finite_seconds,
        metavar="SECONDS",
        help="Give up waiting after SECONDS.",
    ),
]
ViaEventsOption = Annotated[
    bool,
    typer.Option(
        "--via-events",
        help="With --wait: wait on the job's completion event over a temporary listen "
        "channel (a few status reads: 7 for a job of a minute) instead of polling; polls "
        "when the service opens no channel (e.g. a read-only token).",
    ),
]
PerRequestOption = Annotated[
    int,
    typer.Option(
        "--per-request",
        min=1,
        metavar="N",
        help="Most devices per request; more are sent as several jobs (ztd's default limit).",
    ),
]


def goes_on(customer: str, jobs: Sequence[str]) -> str:
    """That the jobs go on without us, and the commands that follow them."""
    follow = follow_commands(customer, jobs)
    if len(jobs) == 1:
        return f"the job goes on in the server: follow it with {follow}"
    return f"the {len(jobs)} jobs go on in the server: follow them with {follow}"


def wait_for(
    jobs: Sequence[StartedJob],
    timeout: float | None,
    as_json: bool,
    out: dict[str, Any],
    customer: str,
    *,
    via_events: bool = False,
) -> list[BatchUploadDetails]:
    """wait_all, with the progress bar unless --json (``via_events``: each job waited on
    through its completion event, as the SDK's ``wait(via_events=True)``). Should --timeout
    expire, --json still prints what was started (every job's tracking id) before the
    error; the error, and an interruption (Ctrl-C), say that the jobs go on and how to
    follow them."""
    try:
        return wait_all(jobs, timeout, None if as_json else stderr(), via_events=via_events)
    except PollingTimeoutError as exc:
        if as_json:
            echo_json(out)
        unfinished = [job.poller.tracking_id for job in jobs]
        fail(
            f"not finished within {timeout} s ({progress_of(exc.last_status)}); "
            + goes_on(customer, unfinished),
            EXIT_TIMEOUT,
        )
    except KeyboardInterrupt:
        ids = [job.poller.tracking_id for job in jobs]
        stderr().print(
            f"\ninterrupted: stopped waiting, but {escape(goes_on(customer, ids))}",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def check_via_events(wait: bool, via_events: bool) -> None:
    """--via-events is a way of waiting: without --wait it is refused, not ignored."""
    if via_events and not wait:
        fail(
            "--via-events is a way of waiting: add --wait, or leave --via-events out",
            EXIT_INVALID_INPUT,
        )


def print_started(what: str, customer: str, jobs: Sequence[StartedJob]) -> None:
    """What a command without --wait started, and how to follow it."""
    lines = [f"{escape(what)}; tracking id {jobs[0].poller.tracking_id}"]
    if len(jobs) > 1:
        lines = [f"{escape(what)} in {len(jobs)} requests (jobs):"]
        lines += [f"  {job.poller.tracking_id}  {plural(job.devices, 'device')}" for job in jobs]
    lines += [
        f"follow it with: ztd status --customer {customer} {job.poller.tracking_id}" for job in jobs
    ]
    stdout().print("\n".join(lines), highlight=False)


def results_json(results: Sequence[BatchUploadDetails]) -> dict[str, Any]:
    """``summary`` over every job and ``results``, each job's BatchUploadDetails; ``result``
    too when there is one job (as before uploads were split)."""
    out: dict[str, Any] = {
        "summary": error_summary(results),
        "results": [details.to_wire() for details in results],
    }
    if len(results) == 1:
        out["result"] = results[0].to_wire()
    return out
