"""Token flood benchmark: a partner's list call (GET /v1/customers) on its own, then while
100 connections send bogus client-credential requests to POST /oauth2/token without pause.

    .venv/bin/python bench/token_flood.py [--seconds 30] [--connections 100] [--json]

Starts `ztd serve` (uvicorn, SQLite, no job worker) on 127.0.0.1, measures the list call's
median alone (the baseline), then during the flood, and prints both with the ceiling from
the same run: the median under the flood stays within 2x the baseline, and some token
requests get 429. The flood runs in a separate process and speaks raw HTTP/1.1 over
keep-alive connections, so it presses harder than an HTTP library would and does not slow
the measuring side. Exit status 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import statistics
import sys
import time
import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

CEILING_RATIO = 2.0


def flood(
    port: int, connections: int, seconds: float, started: Event, results: Queue[dict[int, int]]
) -> None:
    """Runs in its own process: ``connections`` keep-alive connections, each sending a token
    request with a fresh random client id and secret as soon as the last one was answered.
    ``started`` is set once as many answers as connections have come back."""
    counts: collections.Counter[int] = collections.Counter()
    deadline = time.monotonic() + seconds

    async def connection() -> None:
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                counts[0] += 1
                await asyncio.sleep(0.01)
                continue
            try:
                while time.monotonic() < deadline:
                    body = (
                        f"grant_type=client_credentials&client_id={uuid.uuid4()}"
                        f"&client_secret={uuid.uuid4().hex}"
                    ).encode()
                    writer.write(
                        b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/x-www-form-urlencoded\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    status_line = await reader.readline()
                    if not status_line:
                        break  # the server closed the connection: open another
                    length, close = 0, False
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        name = name.strip().lower()
                        if name == b"content-length":
                            length = int(value)
                        elif name == b"connection" and value.strip().lower() == b"close":
                            close = True
                    await reader.readexactly(length)
                    counts[int(status_line.split()[1])] += 1
                    if counts.total() == connections:
                        started.set()
                    if close:
                        break
            except (OSError, asyncio.IncompleteReadError):
                counts[0] += 1
            finally:
                writer.close()

    async def run_all() -> None:
        await asyncio.gather(*(connection() for _ in range(connections)))

    asyncio.run(run_all())
    results.put(dict(counts))


def list_latencies(client: httpx.Client, url: str, seconds: float) -> list[float]:
    """Milliseconds of each list call, one after the other, for ``seconds``."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = client.get(url)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"list call answered {response.status_code}: {response.text}")
    return latencies


def measure(
    seconds: float, baseline_seconds: float, connections: int, server_env: dict[str, str]
) -> dict[str, object]:
    from _support import Processes, environment, free_port, wait_until_up

    with environment("sqlite") as env:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes = Processes()
        processes.start(["serve", "--port", str(port), "--no-worker"], {**env.env, **server_env})
        try:
            wait_until_up(base)
            headers = {"Authorization": f"Bearer {env.token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                list_latencies(client, "/v1/customers", 0.5)  # warm-up: caches, connection
                baseline = list_latencies(client, "/v1/customers", baseline_seconds)
                context = multiprocessing.get_context("spawn")
                results: Queue[dict[int, int]] = context.Queue()
                started = context.Event()
                flooder = context.Process(
                    target=flood, args=(port, connections, seconds, started, results)
                )
                flooder.start()
                # Measure once the flood is under way (the flooder starts a fresh interpreter).
                if not started.wait(120):  # a fresh interpreter, on a busy machine too
                    raise SystemExit("the flood did not start")
                under_flood = list_latencies(client, "/v1/customers", seconds * 0.9)
                token_statuses = results.get(timeout=seconds + 60)
                flooder.join(10)
        finally:
            processes.stop()
    baseline_ms = statistics.median(baseline)
    flood_ms = statistics.median(under_flood)
    return {
        "baseline_median_ms": round(baseline_ms, 2),
        "flood_median_ms": round(flood_ms, 2),
        "ceiling_ms": round(CEILING_RATIO * baseline_ms, 2),
        "ratio": round(flood_ms / baseline_ms, 2),
        "list_calls": {"baseline": len(baseline), "flood": len(under_flood)},
        "baseline_p90_ms": round(_percentile(baseline, 0.9), 2),
        "flood_p90_ms": round(_percentile(under_flood, 0.9), 2),
        "flood_max_ms": round(max(under_flood), 2),
        "token_statuses": {str(k): v for k, v in sorted(token_statuses.items())},
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30, help="length of the flood")
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    parser.add_argument(
        "--per-address",
        help="ZTD_TOKEN_ATTEMPTS_PER_ADDRESS for the server, e.g. 1000000/second to see what "
        "the secret pool alone does (as when attackers have many addresses)",
    )
    args = parser.parse_args()
    server_env = {"ZTD_TOKEN_ATTEMPTS_PER_ADDRESS": args.per_address} if args.per_address else {}
    result = measure(args.seconds, args.baseline_seconds, args.connections, server_env)
    statuses: dict[str, int] = result["token_statuses"]  # type: ignore[assignment]
    ok = result["flood_median_ms"] <= result["ceiling_ms"] and statuses.get("429", 0) > 0  # type: ignore[operator]
    if args.json:
        print(json.dumps({**result, "ok": ok}))
        return 0 if ok else 1
    from _support import machine_description

    print(f"machine: {machine_description()}")
    print(
        f"GET /v1/customers median: {result['baseline_median_ms']} ms alone, "
        f"{result['flood_median_ms']} ms under {args.connections} connections flooding "
        f"/oauth2/token for {args.seconds:g} s (ceiling {result['ceiling_ms']} ms = "
        f"{CEILING_RATIO:g}x the baseline; ratio {result['ratio']})"
    )
    print(f"list calls: {result['list_calls']}; token answers by status: {statuses}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    # Here, not at the top: the flooder, a spawned process, imports this module and needs
    # none of the server code that _support brings in.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
