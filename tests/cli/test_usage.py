"""Invalid arguments exit 3 with Click's message, whichever command or group they are given
to (README's exit-code table: 2 is a failed device), through the real `ztd` process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["webhooks", "deliveries", "ID", "--limit", "0"], "0 is not in the range x>=1"),
        (["listen", "--forward-to"], "Option '--forward-to' requires an argument"),
        (["upload", "--bogus"], "No such option: --bogus"),
        (["csv", "check"], "Missing argument"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["worker", "--bogus"], "No such option: --bogus"),
    ],
)
def test_invalid_arguments_exit_3_with_clicks_message(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ztd", *args],
        env={**os.environ, "COLUMNS": "200", "ZTD_URL": "http://127.0.0.1:9", "ZTD_TOKEN": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert says in done.stderr


def test_help_still_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ztd", "webhooks", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
