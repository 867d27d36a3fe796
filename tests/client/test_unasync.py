"""The SDK's sync operations and poller are generated from the async ones: the committed
files must be what ``make unasync`` makes of their originals today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "unasync_client.py"


def test_the_sync_modules_are_generated_from_the_async_ones() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
