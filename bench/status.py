"""Status-read benchmark: GET batchJobStatus of a finished 10-device and 1,000-device job under
64 concurrent connections (wrk), against the ceiling = a bare ASGI app on the same server
serving the same bytes, measured in the same run.

    .venv/bin/python bench/status.py [--seconds 8] [--servers granian,uvicorn] [--rounds 3]

First the default configuration: `ztd serve --no-worker` exactly as a user runs it (its
default server and process count) against the bare app on that server with as many
processes (and the same hyper settings), `--rounds` times back to back; the verdict is on
the round with the median ratio. Then each server with one process, for comparison. Every
line ends with the machine's load average: other work on the same cores moves the figures.
The servers' CPU time per request (all their processes, over the measured run) is printed
too: it moves least with that load.

Needs wrk (`apt-get install wrk`; the script installs it when it can).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import environment, free_port, machine_description, wait_until_up

from ztd.cli.server_commands import DEFAULT_SERVER, GRANIAN_APP_FACTORY, default_workers
from ztd.identity import synthesize_device
from ztd.server.http_limits import granian_http1_settings, limits_from_env

CONNECTIONS = 64
TARGET_RATIO = 0.8
TARGET_P99_MS = 25.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found; installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is required: apt-get install wrk")
    return found


def default_serve_command(port: int) -> list[str]:
    """`ztd serve` with nothing chosen but the port (and no embedded worker: nothing to do)."""
    return [sys.executable, "-m", "ztd", "serve", "--no-worker", "--port", str(port)]


def server_command(
    server: str, target: str, port: int, factory: bool, workers: int = 1
) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if factory:  # ztd itself, with the request limits `ztd serve` runs it with
        return ztd_server_command(server, port)
    if server == "uvicorn":
        cmd = [
            str(bin_dir / "uvicorn"),
            target,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--no-server-header",
            "--no-date-header",
            "--workers",
            str(workers),
        ]
        return cmd + (["--factory"] if factory else [])
    cmd = [
        str(bin_dir / "granian"),
        "--interface",
        "asgi",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-ws",
        *granian_limit_flags(),  # the same hyper settings `ztd serve` runs with
        "--workers",
        str(workers),
        target,
    ]
    return cmd + (["--factory"] if factory else [])


def granian_limit_flags() -> list[str]:
    settings = granian_http1_settings(limits_from_env())
    return [
        "--http1-buffer-size",
        str(settings.max_buffer_size),
        "--http1-header-read-timeout",
        str(settings.header_read_timeout),
    ]


def ztd_server_command(server: str, port: int) -> list[str]:
    if server == "uvicorn":  # its command line takes no protocol class: run it as ztd does
        run = (
            "import uvicorn; from ztd.cli.server_commands import APP_FACTORY; "
            "from ztd.server.http_limits import UVICORN_PROTOCOL; "
            f"uvicorn.run(APP_FACTORY, factory=True, port={port}, log_level='warning', "
            "access_log=False, server_header=False, date_header=False, http=UVICORN_PROTOCOL)"
        )
        return [sys.executable, "-c", run]
    return [
        str(Path(sys.executable).parent / "granian"),
        "--interface",
        "asgi",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-ws",
        *granian_limit_flags(),
        GRANIAN_APP_FACTORY,
        "--factory",
    ]


def wrk(binary: str, url: str, token: str, seconds: int) -> tuple[float, float, float, int]:
    out = subprocess.run(
        [
            binary,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latencies = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    if "Non-2xx" in out:
        raise SystemExit(f"errors during the run:\n{out}")
    return rps, _ms(latencies["50"]), _ms(latencies["99"]), count


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server process and its children (granian's workers)."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(pid)
        for each in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = each.cpu_times()
                total += times.user + times.system
    return total


def load() -> str:
    """The machine's load average over the last minute: other work on the same cores."""
    return f"load {os.getloadavg()[0]:.1f}"


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(
    server_kind: str,
    args: list[str],
    env: dict[str, str],
    url: str,
    wrk_bin: str,
    token: str,
    seconds: int,
) -> tuple[float, float, float, float]:
    """req/s, p50 ms, p99 ms, and the server's CPU time per request in microseconds: the
    figure least moved by other work on the machine (it takes the CPU, not the cycles
    each request costs)."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = url.split("/v1")[0]
        deadline = time.monotonic() + 60  # several processes start: allow for a busy machine
        while True:
            try:
                if (
                    httpx.get(
                        url, headers={"Authorization": f"Bearer {token}"}, timeout=2
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{server_kind} server at {base} did not answer")
            time.sleep(0.1)
        wrk(wrk_bin, url, token, 1)  # warm-up: fills the caches and the connection pools
        before = cpu_seconds(proc.pid)
        rps, p50, p99, count = wrk(wrk_bin, url, token, seconds)
        return rps, p50, p99, (cpu_seconds(proc.pid) - before) / count * 1e6
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--servers", default="granian,uvicorn")
    parser.add_argument(
        "--rounds", type=int, default=1, help="default-setup pairs per job (verdict: median)"
    )
    args = parser.parse_args()
    wrk_bin = ensure_wrk()
    servers = args.servers.split(",")
    print(f"machine: {machine_description()}; wrk -t2 -c{CONNECTIONS} -d{args.seconds}s")
    ok = True
    with environment("sqlite") as env:
        # Finished jobs of 10 and 1,000 devices, made through a short-lived ztd server.
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = subprocess.Popen(
            [sys.executable, "-m", "ztd", "serve", "--port", str(port)],
            env=env.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        headers = {"Authorization": f"Bearer {env.token}"}
        jobs: dict[int, str] = {}
        try:
            wait_until_up(base, timeout=120)  # two spawned processes start slowly on a busy machine
            for size in (10, 1000):
                devices = [
                    {
                        "serialNumber": (
                            m := synthesize_device(5_000_000 + size * 10_000 + i)
                        ).serial,
                        "hardwareHash": m.hardware_hash,
                    }
                    for i in range(size)
                ]
                response = httpx.post(
                    f"{base}/v1/customers/{env.customer}/deviceBatches",
                    json={"batchId": f"status-{size}", "devices": devices},
                    headers=headers,
                    timeout=60,
                )
                response.raise_for_status()
                jobs[size] = response.headers["Location"]
                while (
                    httpx.get(f"{base}/v1{jobs[size]}", headers=headers).json()["status"]
                    != "finished"
                ):
                    time.sleep(0.05)
        finally:
            serve.terminate()
            serve.wait(10)
        ztd_env = {**env.env, "ZTD_EMBEDDED_WORKER": "false"}
        for size, location in jobs.items():
            body_file = Path(tempfile.mkstemp(suffix=".json")[1])
            body, headers = _fetch(servers[0], ztd_env, location, env.token)
            body_file.write_bytes(body)
            headers_file = body_file.with_suffix(".headers.json")
            headers_file.write_text(json.dumps(headers))
            bare_env = {
                **os.environ,
                "ZTD_BENCH_BODY_FILE": str(body_file),
                "ZTD_BENCH_HEADERS_FILE": str(headers_file),
                "PYTHONPATH": str(Path(__file__).resolve().parent),
            }
            size_label = f"{size:>5}-device job ({len(body_file.read_bytes()):,} bytes)"
            workers = default_workers()
            pairs = []
            # ztd and bare back to back, `rounds` times: on a machine shared with other work
            # a ratio only means something between runs a few seconds apart.
            for _ in range(args.rounds):
                port = free_port()
                ours = run(
                    "default ztd serve",
                    default_serve_command(port),
                    ztd_env,
                    f"http://127.0.0.1:{port}/v1{location}",
                    wrk_bin,
                    env.token,
                    args.seconds,
                )
                port = free_port()
                bare = run(
                    DEFAULT_SERVER.value,
                    server_command(DEFAULT_SERVER.value, "_bare_app:app", port, False, workers),
                    bare_env,
                    f"http://127.0.0.1:{port}/v1{location}",
                    wrk_bin,
                    env.token,
                    args.seconds,
                )
                pairs.append((ours, bare))
                print(
                    f"{size_label}, default `ztd serve` ({DEFAULT_SERVER.value}, {workers} "
                    f"processes): ztd {ours[0]:8.0f} req/s p50 {ours[1]:6.2f} ms "
                    f"p99 {ours[2]:6.2f} ms | bare {bare[0]:8.0f} req/s "
                    f"p50 {bare[1]:6.2f} ms p99 {bare[2]:6.2f} ms | "
                    f"ratio {ours[0] / bare[0]:4.2f} | server CPU/request ztd {ours[3]:.0f} us "
                    f"bare {bare[3]:.0f} us ({load()})",
                    flush=True,
                )
            # The verdict is on the round with the median ratio.
            default, default_bare = sorted(pairs, key=lambda p: p[0][0] / p[1][0])[len(pairs) // 2]
            results = {}
            for server in servers:
                port = free_port()
                url = f"http://127.0.0.1:{port}/v1{location}"
                ours = run(
                    server,
                    server_command(server, "ztd.server.app:create_app_from_env", port, True),
                    ztd_env,
                    url,
                    wrk_bin,
                    env.token,
                    args.seconds,
                )
                port = free_port()
                bare = run(
                    server,
                    server_command(server, "_bare_app:app", port, False),
                    bare_env,
                    f"http://127.0.0.1:{port}/v1{location}",
                    wrk_bin,
                    env.token,
                    args.seconds,
                )
                results[server] = (ours, bare)
                print(
                    f"{size_label}, {server:8} (1 process): "
                    f"ztd {ours[0]:8.0f} req/s p50 {ours[1]:6.2f} ms p99 {ours[2]:6.2f} ms | "
                    f"bare {bare[0]:8.0f} req/s p50 {bare[1]:6.2f} ms p99 {bare[2]:6.2f} ms | "
                    f"ratio {ours[0] / bare[0]:4.2f} | server CPU/request ztd {ours[3]:.0f} us "
                    f"bare {bare[3]:.0f} us ({load()})",
                    flush=True,
                )
            best_bare = max([default_bare[0], *(bare[0] for _, bare in results.values())])
            ratio = default[0] / best_bare
            passed = ratio >= TARGET_RATIO and default[2] <= TARGET_P99_MS
            ok &= passed
            print(
                f"{size:>5}-device job: default ztd serve {default[0]:.0f} req/s / "
                f"best bare {best_bare:.0f} req/s = {ratio:.2f} (target >= {TARGET_RATIO}); "
                f"p99 {default[2]:.2f} ms (target <= {TARGET_P99_MS}) -> "
                f"{'PASS' if passed else 'FAIL'}",
                flush=True,
            )
            body_file.unlink()
            headers_file.unlink()
    return 0 if ok else 1


# The response headers ztd sends that the bare app sends too (with the values of one
# answer): the ceiling answers with the same bytes, headers included, so the ratio measures
# the work of producing them, not the size of Partner Center's headers on the wire.
ECHOED_HEADERS = (
    "content-type",
    "etag",
    "ms-correlationid",
    "ms-requestid",
    "ms-cv",
    "ms-serverid",
    "date",
)


def _fetch(
    server: str, env: dict[str, str], location: str, token: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """The exact bytes ztd serves for this job and the headers the bare app repeats (read
    once through a fresh server)."""
    port = free_port()
    proc = subprocess.Popen(
        server_command(server, "ztd.server.app:create_app_from_env", port, True),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", timeout=120)
        response = httpx.get(
            f"http://127.0.0.1:{port}/v1{location}", headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return response.content, [(n, response.headers[n]) for n in ECHOED_HEADERS]
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
