"""`make run` = `ztd serve --demo`: a fresh data directory gets a migrated database, a demo
partner and customer, and a printed curl line that works when pasted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.live_server import free_port
from tests.support.waiting import STARTUP_SECONDS
from ztd.cli.server_commands import default_workers


@pytest.mark.slow
def test_serve_demo_prints_a_working_curl_line(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env["ZTD_DATA_DIR"] = str(tmp_path / ".ztd")
    server = subprocess.Popen(
        [sys.executable, "-m", "ztd", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        assert server.stderr is not None
        while not any(line.startswith("curl ") for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            line = server.stderr.readline()
            assert line, "server exited early:\n" + "".join(lines)
            lines.append(line)
        text = "".join(lines)
        assert re.search(r"partner id : [0-9a-f-]{36}", text)
        assert re.search(r"customer id: [0-9a-f-]{36}", text)
        assert re.search(r"token      : \S+\.\S+\.\S+", text)
        # The fast configuration by default: granian, one API process per usable core.
        workers = default_workers()
        assert f"with granian, {workers} process" in text
        printed = re.search(r"token      : (\S+)", text)
        assert printed
        token = printed.group(1)
        assert re.search(r"console    : http://127\.0\.0\.1:\d+/console\n", text)
        assert f"/console/sign-in#token={token}\n" in text
        curl = next(line for line in lines if line.startswith("curl ")).strip()
        # The banner comes before the server listens; its `ready` line comes once it
        # answers, and from then on the pasted line works the first time.
        while not any(line.startswith("ready: ") for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            line = server.stderr.readline()
            assert line, "server exited early:\n" + "".join(lines)
            lines.append(line)
        ready = next(line for line in lines if line.startswith("ready: "))
        assert re.fullmatch(
            rf"ready: http://127\.0\.0\.1:{port} answers \(after \d+\.\d s\)\n", ready
        )
        result = subprocess.run(
            curl + " --fail-with-body", shell=True, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"objectType":"Collection"' in result.stdout
        # granian's worker processes (spawned: beside them, multiprocessing's resource tracker)
        children = psutil.Process(server.pid).children()
        serving = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
        assert len(serving) == workers
        assert (tmp_path / ".ztd" / "ztd.sqlite3").exists()
    finally:
        server.terminate()
        server.wait(10)
