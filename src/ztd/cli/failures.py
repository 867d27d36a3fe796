"""Which devices failed, and why: the part of a summary a user acts on.

A status document lists the devices in the order they were sent, so ``devicesStatus[i]`` is
the i-th device of the job's request. ``ztd upload`` knows where each came from (CSV line or
JSON position) and what it read there (serial, manufacturer, PKID); ``ztd status`` knows only
what the document echoes. Failed devices are grouped by error, each group capped, and for a
few 806s the customer's batches are searched for the registration that already holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from ztd.cli.output import plural
from ztd.identity import dds
from ztd.identity.input_file import Origin
from ztd.identity.placeholders import is_placeholder_serial
from ztd.wire import BatchUploadDetails, Device, DeviceUploadDetails

SHOWN_PER_ERROR = 10  # devices listed under each error; the rest are counted
LOOKUP_AT_MOST = 25  # 806s whose holding batch is looked up
SCAN_AT_MOST = 100_000  # devices read (100 a page) before the lookup gives up


@dataclass(frozen=True)
class Holder:
    """The registration that already holds a device (an 806)."""

    batch: str
    device_id: str | None


@dataclass(frozen=True)
class Failure:
    code: str | None
    name: str | None
    entry: DeviceUploadDetails
    origin: Origin | None
    holder: Holder | None = None

    @property
    def serial(self) -> str | None:
        return self.entry.serial_number or (self.origin.serial if self.origin else None)

    @property
    def pkid(self) -> str | None:
        return self.entry.product_key or (self.origin.pkid if self.origin else None)

    @property
    def manufacturer(self) -> str | None:
        return self.origin.manufacturer if self.origin else None


def failures_of(
    results: Sequence[BatchUploadDetails], origins: Sequence[Sequence[Origin]] | None = None
) -> list[Failure]:
    """The failed devices of every job; ``origins[n]`` (when given) are job n's devices in
    the order sent. A document whose length differs from what was sent gets no origins
    (better no line than a wrong one)."""
    failed: list[Failure] = []
    for n, details in enumerate(results):
        sent = origins[n] if origins is not None and n < len(origins) else ()
        aligned = len(sent) == len(details.devices_status)
        for i, entry in enumerate(details.devices_status):
            if entry.error_code or entry.error_description:
                origin = sent[i] if aligned else None
                failed.append(Failure(entry.error_code, entry.error_description, entry, origin))
    return failed


# -- 806: where is the device registered? ----------------------------------------------------

BatchLister = Callable[[], Iterable[str]]
DeviceLister = Callable[[str], Iterable[Device]]


def find_holders(
    failures: Sequence[Failure], batch_ids: BatchLister, devices_of: DeviceLister
) -> list[Failure]:
    """``failures`` with ``holder`` set on the 806s whose registration the customer's batches
    show, for at most LOOKUP_AT_MOST of them: one scan of the batches serves them all, and
    stops after SCAN_AT_MOST devices (a customer's whole fleet is not read to annotate a
    summary).

    An 806 entry names the device that holds it (``deviceId``: the server found it by the
    device's identity key), so such a failure is matched on that id and nothing else: serials
    are not unique (two VMs share a firmware placeholder, two makers reuse one), and a match
    on them named one holder for every such machine. Only an entry without a device id (an
    injected outcome, another service) falls back to the serial (with the maker when both
    are known) or the PKID, and then only to a single candidate in a scan that saw every
    batch, never to a placeholder serial: better no holder than a wrong one."""
    wanted = [f for f in failures if f.code == "806" and _findable(f)][:LOOKUP_AT_MOST]
    if not wanted:
        return list(failures)
    found: dict[int, Holder] = {}  # by the server's device id
    guesses: dict[int, set[Holder]] = {}  # by serial or PKID: kept when alone
    by_id = {k for k, f in enumerate(wanted) if f.entry.device_id}
    scanned = 0
    complete = True
    for batch in batch_ids():
        for device in devices_of(batch):
            scanned += 1
            for k, failure in enumerate(wanted):
                if k in by_id:
                    if k not in found and device.id == failure.entry.device_id:
                        found[k] = Holder(batch, device.id)
                elif _same(failure, device):
                    guesses.setdefault(k, set()).add(Holder(batch, device.id))
            # Guesses need the whole list (a second candidate makes one ambiguous).
            if len(found) == len(wanted) or scanned >= SCAN_AT_MOST:
                break
        if len(found) == len(wanted):
            break
        if scanned >= SCAN_AT_MOST:
            complete = False
            break
    if complete:
        found.update({k: next(iter(h)) for k, h in guesses.items() if len(h) == 1})
    holders = {id(wanted[k]): holder for k, holder in found.items()}
    return [
        Failure(f.code, f.name, f.entry, f.origin, holders[id(f)]) if id(f) in holders else f
        for f in failures
    ]


def _findable(failure: Failure) -> bool:
    serial = failure.serial
    return bool(
        failure.entry.device_id or failure.pkid or (serial and not is_placeholder_serial(serial))
    )


def _same(failure: Failure, device: Device) -> bool:
    """Whether ``device`` may be the holder of a failure that names no device id."""
    serial = failure.serial
    if serial and not is_placeholder_serial(serial) and device.serial_number:
        if serial.casefold() != device.serial_number.casefold():
            return False
        maker, theirs = failure.manufacturer, device.oem_manufacturer_name
        return not (maker and theirs) or maker.casefold() == theirs.casefold()
    return bool(failure.pkid and device.product_key and failure.pkid == device.product_key)


# -- printing --------------------------------------------------------------------------------


def print_failures(console: Console, failures: Sequence[Failure], more_hint: str) -> None:
    """Failed devices grouped by error (most frequent first): the error, how many, what to
    do, then its first SHOWN_PER_ERROR devices and a count of the rest (``more_hint`` says
    where to see them all)."""
    groups: dict[tuple[str | None, str | None], list[Failure]] = {}
    for failure in failures:
        groups.setdefault((failure.code, failure.name), []).append(failure)
    console.print(f"[bold]{plural(len(failures), 'device')} failed:[/]", highlight=False)
    for (code, name), members in sorted(groups.items(), key=lambda g: -len(g[1])):
        title = " ".join(part for part in (code, name) if part) or "unknown error"
        console.print(
            f"[red]{escape(title)}[/]: {plural(len(members), 'device')}. "
            f"{escape(dds.remedy_of(code, name))}",
            highlight=False,
        )
        for failure in members[:SHOWN_PER_ERROR]:
            console.print("  " + escape(_describe(failure)), highlight=False)
        if len(members) > SHOWN_PER_ERROR:
            console.print(
                f"  ... and {len(members) - SHOWN_PER_ERROR:,} more ({escape(more_hint)})",
                highlight=False,
            )


def _describe(failure: Failure) -> str:
    parts = [failure.origin.where] if failure.origin else []
    if failure.serial:
        maker = f" ({failure.manufacturer})" if failure.manufacturer else ""
        parts.append(f"serial {failure.serial}{maker}")
    if failure.pkid:
        parts.append(f"PKID {failure.pkid}")
    if not failure.serial and not failure.pkid and failure.entry.device_id:
        parts.append(f"device {failure.entry.device_id}")
    if failure.entry.error_detail:
        parts.append(failure.entry.error_detail)
    if failure.holder is not None:
        held = f"already registered in batch '{failure.holder.batch}'"
        if failure.holder.device_id:
            held += f" as device {failure.holder.device_id}"
        parts.append(held)
    elif failure.code == "806" and failure.entry.device_id:
        parts.append(f"already registered as device {failure.entry.device_id}")
    return ", ".join(parts) or "a device the status does not identify"
