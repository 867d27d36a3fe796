"""A device file read the way the service will check it: the devices of a CSV or JSON file,
each with where it came from, the rows refused and why, and the warnings. ``ztd upload`` and
the console's pre-flight both read files here, so they never disagree on a file.

Pure: the bytes are handed in (no file is opened here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from ztd.identity.csv_reader import CsvDiagnostic, CsvFormatError, read_devices
from ztd.identity.csv_text import TextDecodeProblem, decode_csv_bytes, load_json_bytes
from ztd.identity.device import FirstCopies, identity_of
from ztd.identity.findings import Finding
from ztd.wire import Device
from ztd.wire.json_keys import DuplicateKey


@dataclass(frozen=True)
class Origin:
    """What was read locally about one device of the file."""

    where: str  # "line 7" (CSV) or "device 3" (JSON)
    serial: str | None = None
    manufacturer: str | None = None
    pkid: str | None = None


@dataclass
class InputFile:
    """What :func:`read_input` found: the devices to send with their origins (same order,
    same length), and the file's problems (refused rows or the whole file) and warnings."""

    devices: list[Device] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)  # where each device came from
    problems: list[str] = field(default_factory=list)  # "FILE:LINE: reason", one per bad row
    warnings: list[Finding] = field(default_factory=list)
    unit: str = "line"  # what a Finding's ``where`` counts: CSV lines or JSON devices
    whole_file: bool = False  # a problem of the file itself: leaving rows out cannot help
    batch_id: str | None = None  # named inside a JSON DeviceBatchCreationRequest
    csv_errors: list[CsvDiagnostic] = field(default_factory=list)  # with columns (console)


def read_input(path: Path, data: bytes, skip_invalid: bool) -> InputFile:
    """The devices of a CSV or JSON file, checked the way the service will check them.

    ``path`` only names the file in messages and picks the format (a ``.json`` suffix, or
    contents that start like JSON); ``data`` is the file's bytes. Nothing is raised for bad
    input: each problem is a sentence in ``problems``, and ``devices`` holds the good rows
    only. A file with no device gets the problem "no device left to upload" (with
    ``skip_invalid``, also when every row was refused)."""
    if is_json_input(path, data):
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


def is_json_input(path: Path, data: bytes) -> bool:
    """Whether ``read_input`` reads the file as JSON (an array of devices, or an upload
    request body) rather than CSV: by its ``.json`` suffix or a first character of [ or {."""
    return path.suffix.lower() == ".json" or _looks_like_json(data)


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
    except (TextDecodeProblem, DuplicateKey) as exc:
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
