"""bench/scale.py runs, tiny, on both backends, so that it cannot rot: it loads devices
straight into the database, serves both registries, uploads and reads, and prints every
figure docs/performance.md records. Its verdicts on a run this small are noise; the exit
code only has to say that the run itself worked (0 or 1, never 2 or 3 or a traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import pg_admin

pytestmark = pytest.mark.timing  # wall-clock bounds: run alone (Makefile)

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"
READS = ("status poll", "device list, first page", "device list, middle page", "batch list")


@pytest.mark.slow
def test_scale_bench_runs_tiny_on_both_backends() -> None:
    pg_admin().close()  # skips, or fails under CI, when PostgreSQL is not reachable
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--devices=2000",
            "--upload=200",
            "--repeat=2",
            "--requests=100",
            "--max-minutes=10",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for backend in ("sqlite", "postgresql"):
        loaded = [line for line in lines if line.startswith(f"{backend}: loaded")]
        assert len(loaded) == 1, run.stdout
        assert "bytes per registered device" in loaded[0]
        mine = [line for line in lines if line.startswith(f"{backend} ")]
        assert any("upload 200 devices" in line and "ratio" in line for line in mine), run.stdout
        for read in READS:
            assert any(read in line and "p99" in line for line in mine), (read, run.stdout)
    assert lines[-1] in ("all targets met", "a target was missed")


def test_scale_bench_refuses_arguments_it_cannot_measure() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--requests=5"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert "--requests >= 100" in run.stderr
