"""A flood of bogus token requests leaves a partner's list call alone (issue 20, finding
2): the bench script bench/token_flood.py, run for a few seconds against a real `ztd serve`
process, with margins wider than the bench's own 2x ceiling for a short run on a shared
machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timing  # wall-clock bounds: run alone (Makefile)

BENCH = Path(__file__).resolve().parents[3] / "bench" / "token_flood.py"
SECONDS = 4
CONNECTIONS = 100


@pytest.mark.slow
@pytest.mark.timeout(420)  # the server's start alone may take minutes on a busy machine
def test_a_token_flood_does_not_slow_the_list_call() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--seconds",
            str(SECONDS),
            "--baseline-seconds",
            "2",
            "--connections",
            str(CONNECTIONS),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert run.returncode in (0, 1), run.stderr  # 1: outside the bench's own 2x ceiling
    # (1 is also a bench that stopped early, printing no figures: show why.)
    assert run.stdout.strip(), run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    statuses = result["token_statuses"]
    assert statuses.get("429", 0) > 0, result
    assert set(statuses) <= {"401", "429"}, result  # no 5xx, no dropped connection ("0")
    assert result["flood_median_ms"] <= 3 * result["baseline_median_ms"], result
    # The list call kept being answered throughout, not a few times between stalls.
    assert result["list_calls"]["flood"] >= 20, result
    # Refusals are held a second before the answer, so the flood could not run far
    # faster than one request per second and connection (it ran hundreds without).
    assert sum(statuses.values()) <= 2.5 * CONNECTIONS * SECONDS, result
