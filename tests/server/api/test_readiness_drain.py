"""/readyz says not ready while the process drains; /healthz stays cheap and tokenless."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient


def test_a_draining_process_is_not_ready(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200
    client.app.state.draining.set()  # type: ignore[attr-defined]
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and "shutting down" in not_ready.json()["description"]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_sigterm_marks_draining_and_the_servers_handler_still_runs(tmp_path: object) -> None:
    script = f"""
import asyncio, os, signal
from ztd.server.app import create_app
from ztd.server.settings import Settings
seen = []
signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))  # the server's own handler
app = create_app(Settings(data_dir={str(tmp_path)!r}), embedded_worker=False)
async def main():
    async with app.router.lifespan_context(app):
        assert not app.state.draining.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handlers run soon after, in this thread
            if app.state.draining.is_set() and seen:
                break
            await asyncio.sleep(0.01)
        assert app.state.draining.is_set() and seen == [signal.SIGTERM], seen
asyncio.run(main())
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr[-3000:]
