"""Shared pieces of the benchmarks: throwaway databases, a seeded tenant, server processes,
peak-RSS sampling. Everything targets 127.0.0.1 and cleans up after itself."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import psycopg

from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database

PG_ADMIN = os.environ.get("ZTD_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine_description() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Environment:
    """A data directory and database with one partner, one customer and a token."""

    data_dir: Path
    database_url: str
    customer: str = ""
    token: str = ""
    _pg_name: str | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ZTD_DATA_DIR": str(self.data_dir),
            "ZTD_DATABASE_URL": self.database_url,
        }


@contextlib.contextmanager
def environment(backend: str) -> Iterator[Environment]:
    data_dir = Path(tempfile.mkdtemp(prefix="ztd-bench-"))
    pg_name = None
    if backend == "postgresql":
        pg_name = f"ztd_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
    else:
        url = f"sqlite:///{data_dir / 'ztd.sqlite3'}"
    env = Environment(data_dir, url, _pg_name=pg_name)
    try:
        settings = Settings(data_dir=data_dir, database_url=url)
        db = Database(settings.resolved_database_url)
        migrate.upgrade(db)
        now = utc_now()
        with db.write() as conn:
            partner = tenancy.add_partner(conn, "Bench Partner", now)
            env.customer = tenancy.add_customer(conn, "Bench Customer", partner, now)
        db.dispose()
        env.token = issue_token(
            KeyStore(data_dir / "keys"),
            issuer=settings.issuer,
            audience=settings.audience,
            partner_id=partner,
            roles=(Role.ADMIN_AGENT,),
            ttl=timedelta(hours=2),
        )
        yield env
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@dataclass
class Processes:
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    peak_rss: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ztd", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def sample_memory(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                for proc in self.procs:
                    with contextlib.suppress(psutil.Error):
                        parent = psutil.Process(proc.pid)
                        # Servers like granian do the work in child processes.
                        for each in [parent, *parent.children(recursive=True)]:
                            with contextlib.suppress(psutil.Error):
                                rss = each.memory_info().rss
                                self.peak_rss[each.pid] = max(self.peak_rss.get(each.pid, 0), rss)
                self._stop.wait(0.05)

        threading.Thread(target=run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until_up(base: str, timeout: float = 180) -> None:
    """Return once ``base``/healthz answers 200; RuntimeError after ``timeout`` seconds.
    Generous: a `ztd serve` on a busy machine took over 30 s to start (the test suite runs
    bench/token_flood.py beside other work), and only a start that fails waits this long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server at {base} did not come up")
