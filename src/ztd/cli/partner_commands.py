"""`ztd upload`, `ztd status`, `ztd batches list`, `ztd devices list|delete`: the partner's
side, a thin layer over the SDK (``ztd.client``), against ztd or the real Partner Center.
What they share with the policy commands (client, errors, options, output) is in ``_common``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ztd.cli._common import (
    CONFIG_HELP,
    CustomerOption,
    JsonOption,
    PerRequestOption,
    TimeoutOption,
    ViaEventsOption,
    calling,
    check_via_events,
    echo_json,
    finish,
    goes_on,
    open_client,
    print_started,
    results_json,
    stderr,
    stdout,
    subgroup,
    wait_for,
    wire_list,
)
from ztd.cli.batch_jobs import (
    PER_REQUEST,
    StartedJob,
    in_parts,
    jobs_json,
    print_report,
    progress_of,
    start_all,
)
from ztd.cli.failures import Failure, failures_of, find_holders
from ztd.cli.findings import print_warnings
from ztd.cli.output import (
    EXIT_CALL_FAILED,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_TIMEOUT,
    add_columns,
    checking,
    fail,
    plural,
    print_table,
    shown_time,
)
from ztd.client import (
    BatchUploadPoller,
    ConflictError,
    NotFoundError,
    PartnerClient,
    PartnerError,
    PollingTimeoutError,
)
from ztd.identity.input_file import read_input, skipping_helps
from ztd.wire import Device

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the partner commands to the `ztd` app."""
    epilog = f"{CONFIG_HELP} {EXIT_CODES}"
    app.command("upload", epilog=epilog)(upload)
    app.command("status", epilog=epilog)(status)
    batches = subgroup(app, "batches")
    batches.command("list", epilog=epilog)(batches_list)
    devices = subgroup(app, "devices")
    devices.command("list", epilog=epilog)(devices_list)
    devices.command("delete", epilog=epilog)(devices_delete)


def upload(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A device CSV or JSON file.")],
    customer: CustomerOption,
    batch: Annotated[
        str | None,
        typer.Option("--batch", metavar="NAME", help="Batch name (default: file name + time)."),
    ] = None,
    append: Annotated[
        bool,
        typer.Option("--append", help="Add the devices to the existing batch --batch NAME."),
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for every device's outcome.")] = False,
    via_events: ViaEventsOption = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Upload the valid rows, leave out bad ones.")
    ] = False,
    as_json: JsonOption = False,
    timeout: TimeoutOption = None,
    per_request: PerRequestOption = PER_REQUEST,
) -> None:
    """Upload the devices of FILE as a new batch (or, with --append, into an existing one).

    The file is checked first, as the service will check it; a file with bad rows is refused
    (each bad line and why is printed) unless --skip-invalid. More devices than --per-request
    go in several requests, each its own job, into the same batch. With --wait, shows
    progress and ends with each failed device (line, serial, error, what to do).
    """
    check_via_events(wait, via_events)
    if append and not batch:
        fail("--append needs --batch NAME: the batch to add the devices to", EXIT_INVALID_INPUT)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", EXIT_INVALID_INPUT)
    err = stderr()
    with checking(err, str(file), len(data), quiet=as_json):
        loaded = read_input(file, data, skip_invalid)
    if loaded.problems:
        if not skip_invalid or not skipping_helps(loaded):
            for problem in loaded.problems:
                err.print(escape(problem), highlight=False)
            advice = (
                f"fix the rows, or pass --skip-invalid to upload the other "
                f"{plural(len(loaded.devices), 'device')}"
                if skipping_helps(loaded)
                else "fix the file and run again"
            )
            fail(
                f"{file}: {plural(len(loaded.problems), 'problem')}; nothing was uploaded "
                f"({advice})",
                EXIT_INVALID_INPUT,
            )
        err.print(
            f"[yellow]skipping {plural(len(loaded.problems), 'invalid row')}[/]; "
            f"run `ztd csv check {escape(str(file))}` to see them",
            highlight=False,
        )
    if loaded.warnings and not as_json:
        print_warnings(err, loaded.warnings, loaded.unit)
    batch_id = batch or loaded.batch_id or f"{file.stem}-{datetime.now(UTC):%Y%m%d-%H%M%S}"

    with calling(), open_client() as partner:
        batches = partner.customers.by_id(customer).device_batches

        def send(n: int, devices: Sequence[Device]) -> BatchUploadPoller:
            # The first request creates the batch (E1) unless --append; any other adds (E2).
            if n == 0 and not append:
                return batches.create(batch_id=batch_id, devices=devices)
            return batches.by_id(batch_id).devices.create(devices)

        try:
            jobs = start_all(in_parts(loaded.devices, per_request), send, err, customer, batch_id)
        except ConflictError:
            fail(
                f"batch {batch_id!r} already exists; add --append to add the devices to it, "
                "or choose another --batch name",
                EXIT_CALL_FAILED,
            )
        except NotFoundError as exc:
            if not append:
                raise
            fail(
                f"{exc.message}: is there a batch {batch_id!r}? `ztd batches list --customer "
                f"{customer}` lists them; leave out --append to create it",
                EXIT_CALL_FAILED,
            )
        out: dict[str, Any] = {
            "batchId": batch_id,
            "trackingId": jobs[0].poller.tracking_id,
            "location": jobs[0].poller.location,
            "devices": len(loaded.devices),
            "skipped": len(loaded.problems),
            "jobs": jobs_json(jobs),
        }
        if not wait:
            if as_json:
                echo_json(out)
            else:
                verb = "added" if append else "uploaded"
                print_started(
                    f"{verb} {plural(len(loaded.devices), 'device')} as batch {batch_id!r}"
                    if not append
                    else f"{verb} {plural(len(loaded.devices), 'device')} to batch {batch_id!r}",
                    customer,
                    jobs,
                )
            return
        results = wait_for(jobs, timeout, as_json, out, customer, via_events=via_events)
        failures: list[Failure] = []
        if not as_json:
            origins = in_parts(loaded.origins, per_request)
            failures = _with_holders(partner, customer, failures_of(results, origins))
    if as_json:
        echo_json({**out, **results_json(results)})
    else:
        print_report(stdout(), results, failures, _all_of(customer, jobs))
    finish(results)


def _with_holders(partner: PartnerClient, customer: str, failures: list[Failure]) -> list[Failure]:
    """The failures, with the batch and device id that hold each of a few 806s. The lookup
    only adds information: should it fail, the summary goes without it."""
    if not any(f.code == "806" for f in failures):
        return failures
    batches = partner.customers.by_id(customer).device_batches
    try:
        return find_holders(
            failures,
            lambda: [b.id for b in batches.list()],
            lambda batch: batches.by_id(batch).devices.list(),
        )
    except PartnerError:
        return failures


def _all_of(customer: str, jobs: Sequence[StartedJob]) -> str:
    first = jobs[0].poller.tracking_id
    return f"`ztd status --customer {customer} {first} --json` lists them all"


def status(
    tracking_id: Annotated[
        str,
        typer.Argument(metavar="TRACKING-ID", help="The batch tracking id from `ztd upload`."),
    ],
    customer: CustomerOption,
    as_json: JsonOption = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the job finishes.")] = False,
    via_events: ViaEventsOption = False,
    timeout: TimeoutOption = None,
) -> None:
    """Show a batch job's status: counts, then each failed device by error and what to do."""
    check_via_events(wait, via_events)
    with calling(), open_client() as partner:
        job = partner.customers.by_id(customer).batch_upload_status.by_id(tracking_id)
        try:
            poller = job.poller()
            details = poller.result(timeout, via_events=via_events) if wait else job.get()
        except PollingTimeoutError as exc:
            fail(
                f"not finished within {timeout} s ({progress_of(exc.last_status)}); "
                + goes_on(customer, [tracking_id]),
                EXIT_TIMEOUT,
            )
        except KeyboardInterrupt:
            stderr().print(
                f"\ninterrupted: stopped waiting, but {escape(goes_on(customer, [tracking_id]))}",
                highlight=False,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        failures: list[Failure] = []
        if not as_json:
            failures = _with_holders(partner, customer, failures_of([details]))
    if as_json:
        echo_json(details.to_wire())
    else:
        print_report(
            stdout(),
            [details],
            failures,
            f"`ztd status --customer {customer} {tracking_id} --json` lists them all",
        )
    finish([details])


def batches_list(customer: CustomerOption, as_json: JsonOption = False) -> None:
    """List the customer's device batches."""
    with calling(), open_client() as partner:
        collection = partner.customers.by_id(customer).device_batches.get()
    if as_json:
        echo_json(wire_list(list(collection.items)))
        return
    table = Table(title=plural(collection.total_count, "device batch", "device batches"))
    add_columns(table, ("batch", "devices", "created", "created by"), whole=("batch", "created"))
    for item in collection.items:
        created = shown_time(item.creation_date)
        table.add_row(
            escape(item.id), str(item.devices_count), created, escape(item.created_by or "-")
        )
    print_table(stdout(), table)


def devices_list(
    customer: CustomerOption,
    batch: Annotated[str, typer.Option("--batch", metavar="NAME", help="The batch name.")],
    as_json: JsonOption = False,
) -> None:
    """List every device of a batch (all pages)."""
    with calling(), open_client() as partner:
        collection = partner.customers.by_id(customer).device_batches.by_id(batch).devices.get()
    if as_json:
        echo_json(wire_list(list(collection.items)))
        return
    table = Table(title=f"{plural(collection.total_count, 'device')} in {escape(batch)}")
    columns = ("id", "serial", "manufacturer", "model", "product key", "uploaded")
    add_columns(table, columns, whole=("id", "serial", "uploaded"))
    for d in collection.items:
        uploaded = shown_time(d.uploaded_date)
        table.add_row(
            escape(d.id or "-"),
            escape(d.serial_number or "-"),
            escape(d.oem_manufacturer_name or "-"),
            escape(d.model_name or "-"),
            escape(d.product_key or "-"),
            uploaded,
        )
    print_table(stdout(), table)


def devices_delete(
    device_ids: Annotated[
        list[str],
        typer.Argument(metavar="DEVICE-ID...", help="Device ids (from `ztd devices list`)."),
    ],
    customer: CustomerOption,
    batch: Annotated[
        str, typer.Option("--batch", metavar="NAME", help="The batch the devices are in.")
    ],
) -> None:
    """Delete devices from a batch (deregister them from the customer)."""
    with calling(), open_client() as partner:
        devices = partner.customers.by_id(customer).device_batches.by_id(batch).devices
        for device_id in device_ids:
            devices.by_id(device_id).delete()
            stdout().print(f"deleted device {escape(device_id)}", highlight=False)
