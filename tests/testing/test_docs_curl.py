"""The curl snippets of docs/testing.md ("With curl"), run by bash exactly as written against
a running emulator, with the variables the doc sets up before them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ztd.server.auth.tokens import OPERATOR_TENANT, Role
from ztd.testing import emulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
CORRELATION_ID = "5f0c6c52-8d1e-4b8a-9d2f-0a1b2c3d4e5f"


def curl_blocks(text: str) -> list[str]:
    section = text.split("### With curl", 1)[1].split("\n#", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def json_lines(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines() if line.startswith(("{", "["))]


def test_the_curl_snippets_run_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed: the documented snippets cannot be checked")
    blocks = curl_blocks(DOC.read_text())
    assert len(blocks) == 2 and all("curl " in block for block in blocks)
    with emulator(tmp_path / "data") as emu:
        t = emu.tenant()
        env = {
            "PATH": "/usr/bin:/bin",
            "ZTD_URL": emu.base_url,
            "CUSTOMER": t.customer_id,
            "ZTD_TOKEN": t.token,
            "ZTD_OPERATOR_TOKEN": emu.token(OPERATOR_TENANT, role=Role.OPERATOR),
        }
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    rule, status, fault, throttled, polled, journal = json_lines(out)
    assert rule["id"] and fault["id"]
    assert throttled == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 1 seconds.",
    }
    assert polled == status
    assert status["status"] == "finished" and "completedTime" in status
    devices = {d["serialNumber"]: d for d in status["devicesStatus"]}
    assert devices["LAB-1"]["errorCode"] == "808"
    assert devices["LAB-1"]["errorDescription"] == "ZtdDeviceAssignedToOtherTenant"
    assert devices["DESK-2"]["status"] == "finished" and "errorCode" not in devices["DESK-2"]
    heads = re.findall(r"^HTTP/1\.1 (\d+)", out, flags=re.MULTILINE)
    assert heads == ["429", "200"], out
    assert re.search(r"^retry-after: 1\r?$", out, flags=re.MULTILINE | re.IGNORECASE)
    assert [(e["status"], e["correlationId"]) for e in journal] == [
        (429, CORRELATION_ID),
        (200, CORRELATION_ID),
    ]
