"""An invalid ZTD_* setting stops any command that reads the settings with one line on
stderr and exit code 2, not a traceback: real `ztd` processes (the wording of each
refusal is tests/server/test_settings.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import free_port

pytestmark = pytest.mark.slow


def ztd(tmp_path: Path, setting: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("ZTD_")}
    env = {**clean, "ZTD_DATA_DIR": str(tmp_path / "data"), **setting}
    return subprocess.run(
        [sys.executable, "-m", "ztd", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("setting", "argv", "said"),
    [
        (
            {"ZTD_WEBHOOK_RETRY_SECONDS": "[5,-1]"},
            ["worker", "--once"],
            "ZTD_WEBHOOK_RETRY_SECONDS='[5,-1]': item 2: input should be greater than or "
            "equal to 0; expected a list of numbers each >= 0",
        ),
        (
            {"ZTD_PAGE_SIZE": "abc"},
            ["db", "upgrade"],
            "ZTD_PAGE_SIZE='abc': input should be a valid integer",
        ),
        (
            {"ZTD_LEASE_SECONDS": "inf"},
            ["admin", "partner", "list"],
            "ZTD_LEASE_SECONDS='inf': input should be a finite number; expected a number > 0",
        ),
        (
            {"ZTD_LOG_LEVEL": "loud"},
            ["serve", "--port", "{port}"],
            "ZTD_LOG_LEVEL='loud': input should be 'debug', 'info', 'warning' or 'error'",
        ),
        # The key-encryption key too (it was refused only once the database was open, in
        # lines wrapped at 80 columns, and the worker took it): which key, why, how to make one.
        (
            {"ZTD_KEY_ENCRYPTION_KEY": "s3cret"},
            ["serve", "--port", "{port}"],
            "ZTD_KEY_ENCRYPTION_KEY=(hidden): key 1 of 1 has 6 characters, not 44 (a Fernet "
            "key is 32 bytes in URL-safe base64); expected Fernet keys, comma-separated, the "
            "first encrypting: `ztd admin keys encryption-key` makes one",
        ),
        (
            {"ZTD_KEY_ENCRYPTION_KEY": "s3cret!" * 6 + "s3"},
            ["worker", "--once"],
            "ZTD_KEY_ENCRYPTION_KEY=(hidden): key 1 of 1 is not 32 bytes in URL-safe base64",
        ),
        (
            {"ZTD_KEY_ENCRYPTION_KEY": ""},
            ["worker"],
            "ZTD_KEY_ENCRYPTION_KEY=(hidden): it holds no key",
        ),
        (
            {"ZTD_KEY_ENCRYPTION_KEY_FILE": "{tmp}/absent"},
            ["serve", "--port", "{port}"],
            "ZTD_KEY_ENCRYPTION_KEY_FILE='{tmp}/absent': cannot read it",
        ),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    tmp_path: Path, setting: dict[str, str], argv: list[str], said: str
) -> None:
    argv = [arg.replace("{port}", str(free_port())) for arg in argv]
    setting = {name: value.replace("{tmp}", str(tmp_path)) for name, value in setting.items()}
    done = ztd(tmp_path, setting, *argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.rstrip("\n")], done.stderr  # one line
    said = said.replace("{tmp}", str(tmp_path))
    assert done.stderr.startswith(f"error: invalid setting {said}"), done.stderr
    assert "s3cret" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_retry_delays_written_with_commas_are_taken(tmp_path: Path) -> None:
    done = ztd(tmp_path, {"ZTD_WEBHOOK_RETRY_SECONDS": "5,300"}, "worker", "--once")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
