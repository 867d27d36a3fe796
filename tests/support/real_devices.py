"""Shared test data: the real Get-WindowsAutopilotInfo exports in ../shared/fixtures."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.shared import shared_dir

FIXTURES = shared_dir() / "fixtures"
REAL_CSV_DIR = FIXTURES / "real-autopilot-csv"


@dataclass(frozen=True)
class RealDevice:
    file: str
    serial: str
    manufacturer: str
    model: str
    pkid: str | None


# From shared/fixtures/real-autopilot-csv/README.md.
REAL_DEVICES = (
    RealDevice(
        "hp-elitebook-840-g8.csv",
        "5CG1457YL8",
        "HP",
        "HP EliteBook 840 G8 Notebook PC",
        "3305404496774",
    ),
    RealDevice("lenovo-21r3.csv", "PF5MT6SC", "LENOVO", "21R3001BUK", "3556252318653"),
    RealDevice("vmware-grouptag.csv", "F98059756E444D56", "VMware, Inc.", "VMware20,1", None),
    RealDevice(
        "hyperv-vm.csv",
        "4895-7167-4584-3623-0974-4308-48",
        "Microsoft Corporation",
        "Virtual Machine",
        None,
    ),
)


def real_csv_dir() -> Path:
    """The fixture folder; skip when it is absent, except in CI where that is a failure."""
    if not REAL_CSV_DIR.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"fixture folder {REAL_CSV_DIR} is missing in CI")
        pytest.skip(f"fixture folder {REAL_CSV_DIR} is absent")
    return REAL_CSV_DIR


def real_bytes(name: str) -> bytes:
    return (real_csv_dir() / name).read_bytes()


def real_hash(name: str) -> str:
    """The Hardware Hash cell of a real fixture, read independently of ztd's CSV reader."""
    rows = list(csv.reader(io.StringIO(real_bytes(name).decode("utf-16"))))
    return rows[1][rows[0].index("Hardware Hash")]


def case(name: str) -> bytes:
    """The bytes of a field case (shared/fixtures/field-cases); skip when the folder is
    absent, except in CI where that is a failure."""
    folder = shared_dir() / "fixtures" / "field-cases"
    if not folder.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"fixture folder {folder} is missing in CI")
        pytest.skip(f"fixture folder {folder} is absent")
    return (folder / name).read_bytes()
