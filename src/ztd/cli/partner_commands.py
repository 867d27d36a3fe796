"""`ztd upload`, `ztd status`, `ztd batches list`, `ztd devices list|delete`: the partner's
side, a thin layer over the SDK (``ztd.client``), against ztd or the real Partner Center.
What they share with the policy commands (client, errors, options, output) is in ``_common``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from pydantic.alias_generators import to_camel
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
    fail,
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
from ztd.cli.failures import Failure, Origin, failures_of, find_holders
from ztd.cli.findings import Finding, print_warnings
from ztd.cli.output import (
    EXIT_CALL_FAILED,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_TIMEOUT,
    checking,
    plural,
)
from ztd.client import (
    BatchUploadPoller,
    ConflictError,
    NotFoundError,
    PartnerClient,
    PartnerError,
    PollingTimeoutError,
)
from ztd.identity.csv_reader import CsvDiagnostic, CsvFormatError, read_devices
from ztd.identity.csv_text import TextDecodeProblem, decode_csv_bytes, load_json_bytes
from ztd.identity.device import FirstCopies, identity_of
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


# -- reading the input file ------------------------------------------------------------------


@dataclass
class InputFile:
    devices: list[Device] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)  # where each device came from
    problems: list[str] = field(default_factory=list)  # "FILE:LINE: reason", one per bad row
    warnings: list[Finding] = field(default_factory=list)
    unit: str = "line"  # what a Finding's ``where`` counts: CSV lines or JSON devices
    whole_file: bool = False  # a problem of the file itself: leaving rows out cannot help
    batch_id: str | None = None  # named inside a JSON DeviceBatchCreationRequest
    csv_errors: list[CsvDiagnostic] = field(default_factory=list)  # with columns (console)


def read_input(path: Path, data: bytes, skip_invalid: bool) -> InputFile:
    """The devices of a CSV or JSON file, checked the way the service will check them."""
    if path.suffix.lower() == ".json" or _looks_like_json(data):
        loaded = _read_json(str(path), data)
    else:
        loaded = _read_csv(str(path), data)
    if loaded.problems and (not skip_invalid or loaded.whole_file):
        return loaded
    if not loaded.devices and not loaded.whole_file:
        loaded.problems.append(f"{path}: no device left to upload")
    return loaded


def skipping_helps(loaded: InputFile) -> bool:
    """Whether --skip-invalid would upload something: bad rows next to good ones, and no
    problem of the file as a whole (a missing header, a change of encoding)."""
    return bool(loaded.problems and loaded.devices and not loaded.whole_file)


def _looks_like_json(data: bytes) -> bool:
    try:
        text = decode_csv_bytes(data[:4096]).text
    except TextDecodeProblem:
        return False
    return text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{")


def _read_csv(source: str, data: bytes) -> InputFile:
    try:
        result = read_devices(data, source=source)
    except CsvFormatError as exc:
        return InputFile(problems=[str(exc)], whole_file=True)
    bad_lines = {d.line for d in result.errors}
    row_lines = {row.line for row in result.devices}
    loaded = InputFile(
        warnings=[Finding(d.line, d.code, d.message) for d in result.warnings],
        # An error on no device row (the header, the encoding) concerns the whole file.
        whole_file=any(d.line not in row_lines for d in result.errors),
        csv_errors=sorted(result.errors, key=lambda d: d.line),
    )
    loaded.problems = [
        f"{source}:{d.line}: {d.message}" for d in sorted(result.errors, key=lambda d: d.line)
    ]
    for row in result.devices:
        if row.line in bad_lines:
            continue
        loaded.devices.append(
            Device(
                serial_number=row.serial_number,
                product_key=row.product_key,
                hardware_hash=row.hardware_hash,
                oem_manufacturer_name=row.manufacturer,
                model_name=row.model,
            )
        )
        loaded.origins.append(
            Origin(
                f"line {row.line}",
                row.identity.serial_number,
                row.identity.manufacturer,
                row.identity.pkid,
            )
        )
    return loaded


def _read_json(source: str, data: bytes) -> InputFile:
    try:
        body = load_json_bytes(data)
    except orjson.JSONDecodeError as exc:
        return InputFile(problems=[f"{source}: not valid JSON: {exc}"], whole_file=True)
    except TextDecodeProblem as exc:
        return InputFile(problems=[f"{source}: {exc}"], whole_file=True)
    loaded = InputFile(unit="device")
    if isinstance(body, dict):
        lowered = {str(k).lower(): v for k, v in body.items()}
        batch_id = lowered.get("batchid")
        loaded.batch_id = batch_id if isinstance(batch_id, str) and batch_id.strip() else None
        body = lowered.get("devices")
    if not isinstance(body, list):
        loaded.whole_file = True
        loaded.problems.append(
            f"{source}: expected a JSON array of devices, or an object with a 'devices' array"
        )
        loaded.whole_file = True
        return loaded
    copies: FirstCopies[int] = FirstCopies()  # the first device of each machine
    for index, item in enumerate(body, start=1):
        where = f"{source}: device {index}"
        if not isinstance(item, dict):
            loaded.problems.append(f"{where}: not a JSON object")
            continue
        try:
            device = Device.model_validate(item)
        except ValidationError as exc:  # e.g. a serial number written as a JSON number
            problem = exc.errors()[0]
            field_name = ".".join(to_camel(str(part)) for part in problem["loc"])
            loaded.problems.append(f"{where}: {field_name}: {problem['msg']}")
            continue
        identity = identity_of(device)
        if identity.error is not None:
            loaded.problems.append(
                f"{where}: {identity.error.code} {identity.error.name}: {identity.detail}"
            )
            continue
        # As `ztd csv check` does for CSV: a second copy would fail (ZtdDeviceDuplicated), or,
        # sent in another request of a split upload, look like a device already registered.
        earlier = copies.earlier(identity, index)
        if earlier is not None:
            loaded.problems.append(
                f"{where}: ZtdDeviceDuplicated: same device as device {earlier[1]}; "
                "only the first copy would be registered"
            )
            continue
        loaded.warnings += [Finding(index, w.code, w.message) for w in identity.warnings]
        loaded.devices.append(device)
        loaded.origins.append(
            Origin(f"device {index}", identity.serial_number, identity.manufacturer, identity.pkid)
        )
    return loaded


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
            jobs = start_all(in_parts(loaded.devices, per_request), send, err)
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
        print_report(stdout(), results, "registered", failures, _all_of(customer, jobs))
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
        # A tracking id may be an upload's or a policy update's; the status does not say which.
        print_report(
            stdout(),
            [details],
            "succeeded",
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
    for column in ("batch", "devices", "created", "created by"):
        table.add_column(column, overflow="fold")
    for item in collection.items:
        created = item.creation_date.isoformat(timespec="seconds") if item.creation_date else "-"
        table.add_row(
            escape(item.id), str(item.devices_count), created, escape(item.created_by or "-")
        )
    stdout().print(table)


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
    for column in ("id", "serial", "manufacturer", "model", "product key", "uploaded"):
        table.add_column(column, overflow="fold")
    for d in collection.items:
        uploaded = d.uploaded_date.isoformat(timespec="seconds") if d.uploaded_date else "-"
        table.add_row(
            escape(d.id or "-"),
            escape(d.serial_number or "-"),
            escape(d.oem_manufacturer_name or "-"),
            escape(d.model_name or "-"),
            escape(d.product_key or "-"),
            uploaded,
        )
    stdout().print(table)


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
