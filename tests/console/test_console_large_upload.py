"""A 10,000-device file uploaded through the console: the job page's progress updates at
least once a second until `finished`, and the page stays responsive (figures printed)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, wait_for
from tests.support.console_browser import csv_file, job_status, sign_in, upload
from tests.support.world import World

pytestmark = pytest.mark.timing  # wall-clock bounds: run alone (Makefile)

DEVICES = 10_000

# Installed once the job page is up: when each htmx swap of the progress section happened,
# and the longest delay of a 50 ms timer (the main thread kept busy = an unresponsive page).
PROBE = """
window.ztdSwaps = [performance.now()];
window.ztdLag = 0;
document.addEventListener("htmx:afterSwap", function () {
  window.ztdSwaps.push(performance.now());
});
var last = performance.now();
setInterval(function () {
  var now = performance.now();
  window.ztdLag = Math.max(window.ztdLag, now - last - 50);
  last = now;
}, 50);
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_ten_thousand_devices_progress_updates_every_second(
    server: str, world: World, tmp_path: Path
) -> None:
    big = csv_file(tmp_path, "big.csv", list(range(50_000, 50_000 + DEVICES)))
    with chromium() as (driver_obj, _downloads):
        driver: Any = driver_obj
        sign_in(driver, server, world.token)
        started = time.monotonic()
        upload(driver, server, world.customer, big, "ten thousand")
        wait_for(lambda: "/jobs/" in driver.current_url, 120, "the job page")
        accepted = time.monotonic() - started
        driver.execute_script(PROBE)
        # Look once a second: each look is a WebDriver round trip handled in this process,
        # which also runs the server and its worker (one GIL); looking every 50 ms took CPU
        # from the very updates being timed. The swaps are timed in the page, not here.
        wait_for(lambda: job_status(driver) == "finished", 300, "the job to finish", 1.0)
        swaps, lag = driver.execute_script("return [window.ztdSwaps, window.ztdLag]")
        done = driver.execute_script("return document.getElementById('count-done').textContent")
        total = time.monotonic() - started
    gaps = [b - a for a, b in itertools.pairwise(swaps)]  # ms between the page's updates
    longest = max(gaps, default=0.0) / 1000
    median = sorted(gaps)[len(gaps) // 2] / 1000 if gaps else 0.0
    measured = (
        f"gaps between the page's progress updates, from the job page's opening to "
        f"`finished`: median {median:.2f} s (bound 1.0), longest {longest:.2f} s (bound 1.5); "
        f"the page's main thread stalled at most {lag:.0f} ms; each gap (ms), in order: "
        f"{[round(g) for g in gaps]}"
    )
    print(
        f"\n10,000 devices: file checked and job accepted in {accepted:.1f} s, finished "
        f"{total:.1f} s after upload; {len(gaps)} progress updates, median gap "
        f"{median:.2f} s, longest {longest:.2f} s, longest main-thread stall {lag:.0f} ms"
    )
    assert done.strip() == "10,000"
    if len(swaps) > 1:  # (a job already finished when the page opened has nothing to poll)
        # At least once a second (polls every 250 ms; the embedded worker shares the
        # server's process), with slack on the longest for a CI machine shared with others.
        assert median <= 1.0 and longest < 1.5, measured
    assert lag < 500, measured  # the page never froze for half a second
