"""The failed-device list without a server: which local row a status entry belongs to, and
which registration holds an 806 (matched on manufacturer + serial, else PKID; the scan is
capped)."""

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


def test_the_lookup_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failures, "SCAN_AT_MOST", 3)
    batches = {"big": [Device(id=f"d{i}", serial_number=f"S{i}") for i in range(10)]}
    batch_ids, devices_of = _devices(batches)
    near, far = Origin("line 2", "S1"), Origin("line 3", "S8")
    found = find_holders(failures_of([_job("806", "806")], [[near, far]]), batch_ids, devices_of)
    assert [f.holder for f in found] == [Holder("big", "d1"), None]  # S8 lies past the cap
