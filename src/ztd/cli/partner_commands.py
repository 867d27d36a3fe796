"""`ztd upload`, `ztd status`, `ztd batches list`, `ztd devices list`: the partner's side,
a thin layer over the SDK (``ztd.client``), against ztd or the real Partner Center. The
policy commands (`ztd policies ...`, `ztd devices assign-policy`) are in ``policy_commands``.

Configuration: ``ZTD_URL`` (default http://127.0.0.1:8000) and ``ZTD_TOKEN``, or
``ZTD_CLIENT_ID`` + ``ZTD_CLIENT_SECRET`` for ztd's built-in client-credentials issuer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ztd.cli.batch_jobs import (
    PER_REQUEST,
    StartedJob,
    error_summary,
    has_failures,
    in_parts,
    jobs_json,
    print_report,
    progress_of,
    start_all,
    wait_all,
)
from ztd.cli.failures import Failure, Origin, failures_of, find_holders
from ztd.cli.findings import Finding, print_warnings
from ztd.cli.output import (
    EXIT_CALL_FAILED,
    EXIT_CODES,
    EXIT_DEVICE_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_TIMEOUT,
    checking,
    console,
    plural,
)
from ztd.client import (
    BatchUploadPoller,
    ClientCredentials,
    ConflictError,
    NotFoundError,
    PartnerClient,
    PartnerError,
    PollingTimeoutError,
    RetryPolicy,
    ServiceRequestError,
    UnauthorizedError,
)
from ztd.identity.csv_reader import CsvDiagnostic, CsvFormatError, read_devices
from ztd.identity.csv_text import TextDecodeProblem, decode_csv_bytes, load_json_bytes
from ztd.identity.device import FirstCopies, identity_of
from ztd.wire import BatchUploadDetails, Device, WireModel

__all__ = ["register"]

DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_HELP = (
    "Configured by ZTD_URL (default http://127.0.0.1:8000) and ZTD_TOKEN, "
    "or ZTD_CLIENT_ID and ZTD_CLIENT_SECRET."
)
# The CLI's retry policy; tests replace it to fail fast on a closed port.
RETRY_POLICY = RetryPolicy()
# More PartnerClient arguments; tests set http_client, sleep and clock (an in-process app).
CLIENT_OPTIONS: dict[str, Any] = {}


def register(app: typer.Typer) -> None:
    """Add the partner commands to the `ztd` app."""
    batches = typer.Typer(help="Device batches of a customer.", no_args_is_help=True)
    devices = typer.Typer(help="Devices of a batch.", no_args_is_help=True)
    app.command("upload", epilog=f"{CONFIG_HELP} {EXIT_CODES}")(upload)
    app.command("status", epilog=f"{CONFIG_HELP} {EXIT_CODES}")(status)
    batches.command("list", epilog=f"{CONFIG_HELP} {EXIT_CODES}")(batches_list)
    devices.command("list", epilog=f"{CONFIG_HELP} {EXIT_CODES}")(devices_list)
    devices.command("delete", epilog=f"{CONFIG_HELP} {EXIT_CODES}")(devices_delete)
    from ztd.cli import policy_commands  # it builds on this module's helpers

    policy_commands.register(app, devices)
    app.add_typer(batches, name="batches")
    app.add_typer(devices, name="devices")


# -- configuration and errors ----------------------------------------------------------------


def _stderr() -> Console:
    return console(stderr=True)


def _stdout() -> Console:
    return console()


def _fail(message: str, code: int) -> NoReturn:
    _stderr().print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def open_client() -> Iterator[PartnerClient]:
    """The SDK client the environment configures (closed, with its credential, on exit)."""
    url = os.environ.get("ZTD_URL", "").strip() or DEFAULT_URL
    token = os.environ.get("ZTD_TOKEN", "").strip()
    client_id = os.environ.get("ZTD_CLIENT_ID", "").strip()
    client_secret = os.environ.get("ZTD_CLIENT_SECRET", "").strip()
    if not token and not (client_id and client_secret):
        _fail(
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
            _fail(f"ZTD_URL: {exc}", EXIT_CALL_FAILED)
        with client:
            yield client


@contextmanager
def _calling() -> Iterator[None]:
    """Any SDK failure becomes one line on stderr and an exit code, never a traceback."""
    try:
        yield
    except PollingTimeoutError as exc:  # the commands that wait say more; this is the floor
        _fail(
            f"job {exc.tracking_id} not finished ({progress_of(exc.last_status)}); it goes on "
            "in the server: follow it with `ztd status --customer ID TRACKING-ID --wait`",
            EXIT_TIMEOUT,
        )
    except UnauthorizedError as exc:
        _fail(f"{exc.message} (check ZTD_TOKEN or the client credentials)", EXIT_CALL_FAILED)
    except ServiceRequestError as exc:
        _fail(f"{exc.message} (is the server running? ZTD_URL sets where)", EXIT_CALL_FAILED)
    except PartnerError as exc:
        _fail(exc.message, EXIT_CALL_FAILED)
    except ValueError as exc:  # an argument the SDK refuses before calling, e.g. an empty id
        _fail(str(exc), EXIT_CALL_FAILED)


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


# -- presenting results ----------------------------------------------------------------------


def _echo_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _wire_list(items: list[Any]) -> list[dict[str, Any]]:
    return [item.to_wire() for item in items if isinstance(item, WireModel)]


def _finish(results: Sequence[BatchUploadDetails]) -> None:
    if has_failures(results):
        raise typer.Exit(EXIT_DEVICE_FAILED)


# -- commands --------------------------------------------------------------------------------

CustomerOption = Annotated[
    str, typer.Option("--customer", metavar="TENANT-ID", help="The customer's tenant id.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", min=0, metavar="SECONDS", help="Give up waiting after SECONDS."),
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
    if append and not batch:
        _fail("--append needs --batch NAME: the batch to add the devices to", EXIT_INVALID_INPUT)
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", EXIT_INVALID_INPUT)
    err = _stderr()
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
            _fail(
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

    with _calling(), open_client() as partner:
        batches = partner.customers.by_id(customer).device_batches

        def send(n: int, devices: Sequence[Device]) -> BatchUploadPoller:
            # The first request creates the batch (E1) unless --append; any other adds (E2).
            if n == 0 and not append:
                return batches.create(batch_id=batch_id, devices=devices)
            return batches.by_id(batch_id).devices.create(devices)

        try:
            jobs = start_all(in_parts(loaded.devices, per_request), send, err)
        except ConflictError:
            _fail(
                f"batch {batch_id!r} already exists; add --append to add the devices to it, "
                "or choose another --batch name",
                EXIT_CALL_FAILED,
            )
        except NotFoundError as exc:
            if not append:
                raise
            _fail(
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
                _echo_json(out)
            else:
                verb = "added" if append else "uploaded"
                _print_started(
                    f"{verb} {plural(len(loaded.devices), 'device')} as batch {batch_id!r}"
                    if not append
                    else f"{verb} {plural(len(loaded.devices), 'device')} to batch {batch_id!r}",
                    customer,
                    jobs,
                )
            return
        results = _wait_for(jobs, timeout, as_json, out, customer)
        failures: list[Failure] = []
        if not as_json:
            origins = in_parts(loaded.origins, per_request)
            failures = _with_holders(partner, customer, failures_of(results, origins))
    if as_json:
        _echo_json({**out, **_results_json(results)})
    else:
        print_report(_stdout(), results, "registered", failures, _all_of(customer, jobs))
    _finish(results)


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


def _goes_on(customer: str, jobs: Sequence[str]) -> str:
    """That the jobs go on without us, and the commands that follow them."""
    follow = "; ".join(f"`ztd status --customer {customer} {tid} --wait`" for tid in jobs)
    if len(jobs) == 1:
        return f"the job goes on in the server: follow it with {follow}"
    return f"the {len(jobs)} jobs go on in the server: follow them with {follow}"


def _all_of(customer: str, jobs: Sequence[StartedJob]) -> str:
    first = jobs[0].poller.tracking_id
    return f"`ztd status --customer {customer} {first} --json` lists them all"


def _wait_for(
    jobs: Sequence[StartedJob],
    timeout: float | None,
    as_json: bool,
    out: dict[str, Any],
    customer: str,
) -> list[BatchUploadDetails]:
    """wait_all, with the progress bar unless --json. Should --timeout expire, --json still
    prints what was started (every job's tracking id) before the error; the error, and an
    interruption (Ctrl-C), say that the jobs go on and how to follow them."""
    try:
        return wait_all(jobs, timeout, None if as_json else _stderr())
    except PollingTimeoutError as exc:
        if as_json:
            _echo_json(out)
        unfinished = [job.poller.tracking_id for job in jobs]
        _fail(
            f"not finished within {timeout} s ({progress_of(exc.last_status)}); "
            + _goes_on(customer, unfinished),
            EXIT_TIMEOUT,
        )
    except KeyboardInterrupt:
        ids = [job.poller.tracking_id for job in jobs]
        _stderr().print(
            f"\ninterrupted: stopped waiting, but {escape(_goes_on(customer, ids))}",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _print_started(what: str, customer: str, jobs: Sequence[StartedJob]) -> None:
    """What a command without --wait started, and how to follow it."""
    lines = [f"{escape(what)}; tracking id {jobs[0].poller.tracking_id}"]
    if len(jobs) > 1:
        lines = [f"{escape(what)} in {len(jobs)} requests (jobs):"]
        lines += [f"  {job.poller.tracking_id}  {plural(job.devices, 'device')}" for job in jobs]
    lines += [
        f"follow it with: ztd status --customer {customer} {job.poller.tracking_id}" for job in jobs
    ]
    _stdout().print("\n".join(lines), highlight=False)


def _results_json(results: Sequence[BatchUploadDetails]) -> dict[str, Any]:
    """``summary`` over every job and ``results``, each job's BatchUploadDetails; ``result``
    too when there is one job (as before uploads were split)."""
    out: dict[str, Any] = {
        "summary": error_summary(results),
        "results": [details.to_wire() for details in results],
    }
    if len(results) == 1:
        out["result"] = results[0].to_wire()
    return out


def status(
    tracking_id: Annotated[
        str,
        typer.Argument(metavar="TRACKING-ID", help="The batch tracking id from `ztd upload`."),
    ],
    customer: CustomerOption,
    as_json: JsonOption = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the job finishes.")] = False,
    timeout: TimeoutOption = None,
) -> None:
    """Show a batch job's status: counts, then each failed device by error and what to do."""
    with _calling(), open_client() as partner:
        job = partner.customers.by_id(customer).batch_upload_status.by_id(tracking_id)
        try:
            details = job.poller().result(timeout) if wait else job.get()
        except PollingTimeoutError as exc:
            _fail(
                f"not finished within {timeout} s ({progress_of(exc.last_status)}); "
                + _goes_on(customer, [tracking_id]),
                EXIT_TIMEOUT,
            )
        except KeyboardInterrupt:
            _stderr().print(
                f"\ninterrupted: stopped waiting, but {escape(_goes_on(customer, [tracking_id]))}",
                highlight=False,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        failures: list[Failure] = []
        if not as_json:
            failures = _with_holders(partner, customer, failures_of([details]))
    if as_json:
        _echo_json(details.to_wire())
    else:
        # A tracking id may be an upload's or a policy update's; the status does not say which.
        print_report(
            _stdout(),
            [details],
            "succeeded",
            failures,
            f"`ztd status --customer {customer} {tracking_id} --json` lists them all",
        )
    _finish([details])


def batches_list(customer: CustomerOption, as_json: JsonOption = False) -> None:
    """List the customer's device batches."""
    with _calling(), open_client() as partner:
        collection = partner.customers.by_id(customer).device_batches.get()
    if as_json:
        _echo_json(_wire_list(list(collection.items)))
        return
    table = Table(title=plural(collection.total_count, "device batch", "device batches"))
    for column in ("batch", "devices", "created", "created by"):
        table.add_column(column, overflow="fold")
    for item in collection.items:
        created = item.creation_date.isoformat(timespec="seconds") if item.creation_date else "-"
        table.add_row(
            escape(item.id), str(item.devices_count), created, escape(item.created_by or "-")
        )
    _stdout().print(table)


def devices_list(
    customer: CustomerOption,
    batch: Annotated[str, typer.Option("--batch", metavar="NAME", help="The batch name.")],
    as_json: JsonOption = False,
) -> None:
    """List every device of a batch (all pages)."""
    with _calling(), open_client() as partner:
        collection = partner.customers.by_id(customer).device_batches.by_id(batch).devices.get()
    if as_json:
        _echo_json(_wire_list(list(collection.items)))
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
    _stdout().print(table)


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
    with _calling(), open_client() as partner:
        devices = partner.customers.by_id(customer).device_batches.by_id(batch).devices
        for device_id in device_ids:
            devices.by_id(device_id).delete()
            _stdout().print(f"deleted device {escape(device_id)}", highlight=False)
