"""The failed-device list without a server: which local row a status entry belongs to, and
which registration holds an 806 (the device the entry names; without one, a single
manufacturer + serial or PKID candidate; the scan is capped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ztd.cli import failures
from ztd.cli.failures import (
    BatchLister,
    DeviceLister,
    Holder,
    failures_of,
    find_holders,
)
from ztd.identity.input_file import Origin
from ztd.wire import BatchUploadDetails, Device, DeviceUploadDetails


def _job(*codes: str | None) -> BatchUploadDetails:
    return BatchUploadDetails(
        devices_status=[
            DeviceUploadDetails(error_code=c, error_description="X" if c else None) for c in codes
        ]
    )


def test_entries_are_matched_to_what_was_sent_in_order() -> None:
    sent = [Origin("line 2", "A1"), Origin("line 3", "B2"), Origin("line 4", "C3")]
    [failure] = failures_of([_job(None, "806", None)], [sent])
    assert failure.origin == sent[1] and failure.serial == "B2"
    # A document that does not list what was sent (another client's job): no guessed lines.
    [unaligned] = failures_of([_job("806", None)], [sent])
    assert unaligned.origin is None


def _devices(batches: dict[str, list[Device]]) -> tuple[BatchLister, DeviceLister]:
    def devices_of(batch: str) -> Iterator[Device]:
        yield from batches[batch]  # lazily, page by page, as the SDK's list() does

    return (lambda: list(batches)), devices_of


def test_holders_match_maker_and_serial_ignoring_case_else_pkid() -> None:
    origins = [
        Origin("line 2", "pf1", "lenovo"),
        Origin("line 3", "SAME", "Dell Inc."),  # same serial, another maker: not this one
        Origin("line 4", None, None, "3384231463702"),
        Origin("line 5", "NOWHERE", "HP"),
    ]
    batches = {
        "lab-1": [Device(id="d1", serial_number="PF1", oem_manufacturer_name="LENOVO")],
        "lab-2": [
            Device(id="d2", serial_number="SAME", oem_manufacturer_name="HP"),
            Device(id="d3", product_key="3384231463702"),
        ],
    }
    batch_ids, devices_of = _devices(batches)
    found = find_holders(
        failures_of([_job("806", "806", "806", "806")], [origins]), batch_ids, devices_of
    )
    assert [f.holder for f in found] == [Holder("lab-1", "d1"), None, Holder("lab-2", "d3"), None]


def _named(*device_ids: str | None) -> BatchUploadDetails:
    """A job whose every device failed 806, each entry naming the device that holds it."""
    return BatchUploadDetails(
        devices_status=[
            DeviceUploadDetails(
                device_id=d, error_code="806", error_description="ZtdDeviceAlreadyAssigned"
            )
            for d in device_ids
        ]
    )


def test_an_806_is_held_by_the_device_its_entry_names_not_by_its_serial() -> None:
    # Two VMs with one firmware placeholder serial (told apart by SMBIOS UUID), and two
    # machines of different makers with one serial: each failure is held by its own device.
    origins = [
        Origin("line 2", "Default string", "QEMU"),
        Origin("line 3", "Default string", "QEMU"),
        Origin("line 4", "SAME"),  # no maker known (as for `ztd status`)
        Origin("line 5", "SAME"),
    ]
    batches = {
        "vms": [
            Device(id="vm-1", serial_number="Default string", oem_manufacturer_name="QEMU"),
            Device(id="vm-2", serial_number="Default string", oem_manufacturer_name="QEMU"),
        ],
        "mixed": [
            Device(id="hp", serial_number="SAME", oem_manufacturer_name="HP"),
            Device(id="dell", serial_number="SAME", oem_manufacturer_name="Dell Inc."),
        ],
    }
    batch_ids, devices_of = _devices(batches)
    job = _named("vm-2", "vm-1", "dell", "hp")
    for sent in ([origins], None):  # `ztd upload` knows the lines, `ztd status` does not
        found = find_holders(failures_of([job], sent), batch_ids, devices_of)
        assert [f.holder for f in found] == [
            Holder("vms", "vm-2"),
            Holder("vms", "vm-1"),
            Holder("mixed", "dell"),
            Holder("mixed", "hp"),
        ]


def test_a_named_device_that_is_not_listed_is_not_replaced_by_a_lookalike() -> None:
    batch_ids, devices_of = _devices({"lab": [Device(id="other", serial_number="S1")]})
    [failure] = find_holders(
        failures_of([_named("gone")], [[Origin("line 2", "S1")]]), batch_ids, devices_of
    )
    assert failure.holder is None  # the summary says "already registered as device gone"


def test_without_a_device_id_only_a_single_real_serial_candidate_is_named() -> None:
    origins = [
        Origin("line 2", "Default string"),  # a placeholder names no machine
        Origin("line 3", "TWICE"),  # two candidates: ambiguous
        Origin("line 4", "ONCE"),
    ]
    batches = {
        "a": [
            Device(id="p1", serial_number="Default string"),
            Device(id="t1", serial_number="TWICE", oem_manufacturer_name="HP"),
        ],
        "b": [
            Device(id="t2", serial_number="TWICE", oem_manufacturer_name="Lenovo"),
            Device(id="o1", serial_number="ONCE"),
        ],
    }
    batch_ids, devices_of = _devices(batches)
    found = find_holders(failures_of([_job("806", "806", "806")], [origins]), batch_ids, devices_of)
    assert [f.holder for f in found] == [None, None, Holder("b", "o1")]


def test_the_lookup_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failures, "SCAN_AT_MOST", 3)
    batches = {"big": [Device(id=f"d{i}", serial_number=f"S{i}") for i in range(10)]}
    batch_ids, devices_of = _devices(batches)
    found = find_holders(failures_of([_named("d1", "d8")]), batch_ids, devices_of)
    assert [f.holder for f in found] == [Holder("big", "d1"), None]  # d8 lies past the cap
    # A serial match in a scan cut short is not named: a second candidate may lie past it.
    near = Origin("line 2", "S1")
    [guess] = find_holders(failures_of([_job("806")], [[near]]), batch_ids, devices_of)
    assert guess.holder is None
