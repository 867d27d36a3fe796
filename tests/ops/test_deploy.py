"""docs/deploy.md and deploy/ do what they say, with real processes on a real PostgreSQL.

The systemd units' ExecStart lines are run as written (only the install path, the listening
address and ports, and the data directories are this machine's): the API refuses a schema
that is not migrated, ztd-migrate migrates it, two API hosts and a worker share it, a token
from one host is accepted by the other, an upload to one is finished by the worker and read
from the other, the health checks of the Dockerfile and compose file pass against them, a
pg_dump restored into a new database serves the same tokens, and SIGTERM stops every
process within the unit's TimeoutStopSec. The compose file and Dockerfile are checked to run
those same commands. Building images is not possible here (see the guide).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from tests.ops.deploy_files import (
    DEPLOY,
    INSTALLED_ZTD,
    ROOT,
    Unit,
    dockerfile_instructions,
    exec_form,
    read_environment_file,
    read_unit,
)
from tests.support.api import hash_device
from tests.support.live_server import free_port
from tests.support.postgres import PG_ADMIN_URL, pg_admin
from tests.support.waiting import STARTUP_SECONDS

UNITS = {path.name: read_unit(path) for path in sorted((DEPLOY / "systemd").glob("*.service"))}
API, WORKER, MIGRATE = "ztd-api.service", "ztd-worker@.service", "ztd-migrate.service"
ZTD = str(Path(sys.executable).parent / "ztd")
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}


def test_the_units_follow_systemd_conventions() -> None:
    assert set(UNITS) == {API, WORKER, MIGRATE}
    for name, unit in UNITS.items():
        assert unit.exec_start("9101")[0] == INSTALLED_ZTD, name
        assert unit.value("Service", "User") == "ztd"
        assert unit.value("Service", "EnvironmentFile") == "/etc/ztd/ztd.env"
        assert unit.value("Unit", "After") == "network-online.target"
        for key, value in HARDENING.items():
            assert unit.value("Service", key) == value, (name, key)
    for name in (API, WORKER):  # long-running services: drained by SIGTERM, restarted
        unit = UNITS[name]
        assert unit.value("Service", "Type") == "exec"
        assert unit.value("Service", "KillSignal") == "SIGTERM"
        assert unit.value("Service", "KillMode") == "mixed"
        assert 10 <= int(unit.value("Service", "TimeoutStopSec")) <= 60
        assert unit.value("Service", "Restart") == "on-failure"
        assert unit.value("Install", "WantedBy") == "multi-user.target"
    assert UNITS[MIGRATE].value("Service", "Type") == "oneshot"
    assert "Install" not in UNITS[MIGRATE].settings  # started by hand, during upgrades
    # The key encryption key is a credential, not a variable in the environment file.
    assert UNITS[API].environment(Path("/creds")) == {
        "ZTD_KEY_ENCRYPTION_KEY_FILE": "/creds/key-encryption-key",
        "ZTD_DATA_DIR": "/var/lib/ztd",
    }
    assert UNITS[API].value("Service", "LoadCredential") == (
        "key-encryption-key:/etc/ztd/key-encryption-key"
    )
    assert "ZTD_KEY_ENCRYPTION_KEY" not in read_environment_file(DEPLOY / "ztd.env.example")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """With ztd where this checkout has it (verify checks that ExecStart exists)."""
    for name, unit_path in ((p.name, p) for p in (DEPLOY / "systemd").glob("*.service")):
        text = unit_path.read_text().replace(INSTALLED_ZTD, ZTD)
        (tmp_path / name.replace("@.", "@9101.")).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # unknown keys are only warnings: none allowed


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _ztd_args(unit: Unit, instance: str = "") -> list[str]:
    return unit.exec_start(instance)[1:]


def test_compose_runs_the_tested_commands_with_postgresql() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker"}
    assert services["migrate"]["command"] == _ztd_args(UNITS[MIGRATE])
    assert services["api"]["command"] == _ztd_args(UNITS[API])
    # The worker listens for metrics on every interface of its container, not of a host.
    worker = _ztd_args(UNITS[WORKER], "9101")
    assert services["worker"]["command"] == [a.replace("127.0.0.1", "0.0.0.0") for a in worker]
    assert services["api"]["ports"] == ["8000:8000"]
    assert services["worker"]["deploy"]["replicas"] == 2

    for name in ("migrate", "api", "worker"):
        service = services[name]
        assert service["image"] == "ztd:local"
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["stop_signal"] == "SIGTERM"
        env = service["environment"]
        assert env["ZTD_DATABASE_URL"].startswith("postgresql://ztd:")
        assert env["ZTD_DATABASE_URL"].endswith("@postgres:5432/ztd")
        assert env["ZTD_KEY_ENCRYPTION_KEY_FILE"] == "/run/secrets/key-encryption-key"
        assert service["secrets"] == ["key-encryption-key"]
        assert "ZTD_ISSUER" in env
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert ":9101/metrics" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    # The PostgreSQL settings the guide explains are the ones the compose file sets.
    settings = [a for a in services["postgres"]["command"] if "=" in a]
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for setting in settings:
        assert f"`{setting.split('=')[0]}`" in guide, setting
    assert _compose()["secrets"]["key-encryption-key"] == {"file": "./secrets/key-encryption-key"}


def test_the_dockerfile_runs_the_tested_api_command() -> None:
    instructions = dockerfile_instructions(DEPLOY / "Dockerfile")
    last: dict[str, str] = {}
    for word, arguments in instructions:
        last[word] = arguments
    assert exec_form(last["ENTRYPOINT"]) == ["ztd"]
    assert exec_form(last["CMD"]) == _ztd_args(UNITS[API])
    assert last["STOPSIGNAL"] == "SIGTERM"
    assert last["USER"] == "ztd"
    assert last["EXPOSE"] == "8000"
    assert "/healthz" in last["HEALTHCHECK"]
    # What it copies exists, and what it installs is the server extra.
    copies = [
        args.split() for word, args in instructions if word == "COPY" and "--from" not in args
    ]
    for sources in (args[:-1] for args in copies):
        for source in sources:
            assert (ROOT / source).exists(), source
    assert any('".[server]"' in args for word, args in instructions if word == "RUN")
    assert "!src/" in (DEPLOY / "Dockerfile.dockerignore").read_text()


def _healthcheck(test: list[str], port: int, default_port: int) -> list[str]:
    """A CMD health check run on this machine: this interpreter, this port."""
    assert test[0] == "CMD" and test[1] == "python", test
    return [sys.executable, *(a.replace(f":{default_port}/", f":{port}/") for a in test[2:])]


# --- the guide on PostgreSQL, with real processes --------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"ztd_deploy_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with pg_admin() as admin:  # skips, or fails under CI, when PostgreSQL is not reachable
        admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        for db in (name, f"{name}_restored"):
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


class Service:
    """A unit's ExecStart command line running as systemd would start it here."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=out)

    def stop(self, timeout: float) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            log = self.log.read_text()
            raise AssertionError(f"not stopped {timeout} s after SIGTERM: {log}") from None


class Deployment:
    """The guide's settings on this machine: its environment file and credential."""

    def __init__(self, tmp: Path, pg_url: str) -> None:
        self.tmp = tmp
        base = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
        self.shared = {**base, **read_environment_file(DEPLOY / "ztd.env.example")}
        self.shared["ZTD_DATABASE_URL"] = pg_url
        self.credentials = tmp / "credentials"
        self.credentials.mkdir(mode=0o700)
        self.services: list[Service] = []

    def env(self, unit: Unit, data_dir: str) -> dict[str, str]:
        env = {**self.shared, **unit.environment(self.credentials)}
        assert env["ZTD_DATA_DIR"] == "/var/lib/ztd"
        env["ZTD_DATA_DIR"] = str(self.tmp / data_dir)  # one per host
        return env

    def command(self, unit: Unit, instance: str = "", port: int | None = None) -> list[str]:
        args = unit.exec_start(instance)
        assert args[0] == INSTALLED_ZTD
        args[0] = ZTD
        if "--host" in args:  # bound here to 127.0.0.1 only, on a free port
            args[args.index("--host") + 1] = "127.0.0.1"
        if port is not None:
            args[args.index("--port") + 1] = str(port)
        return args

    def start(
        self, unit: Unit, data_dir: str, instance: str = "", port: int | None = None
    ) -> Service:
        log = self.tmp / f"{unit.name}-{data_dir}-{instance or port}.log"
        service = Service(self.command(unit, instance, port), self.env(unit, data_dir), log)
        self.services.append(service)
        return service

    def admin(self, *args: str) -> str:
        """An admin command with the settings the guide gives it: the environment file and
        the key encryption key file."""
        env = {**self.env(UNITS[API], "admin")}
        done = subprocess.run([ZTD, "admin", *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _wait_ready(base: str, service: Service, timeout: float = STARTUP_SECONDS) -> None:
    """Generous: under a loaded CI machine granian's freshly spawned processes have taken
    over a minute to import the app."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert service.process.poll() is None, service.log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{base} not ready: {service.log.read_text()}")


@pytest.mark.slow
@pytest.mark.timeout(900)  # five server starts, each up to a minute on a loaded machine
def test_the_guide_two_api_hosts_and_a_worker_on_one_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    deploy = Deployment(tmp_path, pg_url)
    key = subprocess.run(
        [ZTD, "admin", "keys", "encryption-key"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (deploy.credentials / "key-encryption-key").write_text(key + "\n")

    # Before the migration, the API refuses to start, and says what to run.
    refused = deploy.start(UNITS[API], "host-a", port=free_port())
    assert refused.process.wait(180) == 2
    assert "ztd db upgrade" in " ".join(refused.log.read_text().split())
    migrate = deploy.start(UNITS[MIGRATE], "host-a")
    assert migrate.process.wait(300) == 0, migrate.log.read_text()

    ports = {"host-a": free_port(), "host-b": free_port()}
    apis = {host: deploy.start(UNITS[API], host, port=port) for host, port in ports.items()}
    metrics_port = free_port()
    worker = deploy.start(UNITS[WORKER], "worker-host", instance=str(metrics_port))
    try:
        for host, port in ports.items():
            _wait_ready(f"http://127.0.0.1:{port}", apis[host])
        partner = deploy.admin("partner", "add", "Fabrikam")
        customer = deploy.admin("customer", "add", "Contoso", "--partner", partner)
        token = deploy.admin("token", "--partner", partner)
        auth = {"Authorization": f"Bearer {token}"}
        a, b = (f"http://127.0.0.1:{ports[h]}/v1/customers/{customer}" for h in ports)

        # An upload to one host, finished by the worker, read from the other.
        devices = [hash_device(n) for n in range(3)]
        created = httpx.post(
            f"{a}/deviceBatches", json={"batchId": "first", "devices": devices}, headers=auth
        )
        assert created.status_code == 202, created.text
        tracking = created.headers["Location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 60
        while True:
            status = httpx.get(f"{b}/batchJobStatus/{tracking}", headers=auth)
            assert status.status_code == 200, status.text
            if status.json()["status"] == "finished":
                break
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.2)
        assert [d["status"] for d in status.json()["devicesStatus"]] == ["finished"] * 3

        # The health checks of the Dockerfile and the compose file, against these processes.
        services = _compose()["services"]
        dockerfile = dict(dockerfile_instructions(DEPLOY / "Dockerfile"))["HEALTHCHECK"]
        docker_check = exec_form(dockerfile[dockerfile.index("CMD") + 3 :].strip())
        checks = [
            _healthcheck(["CMD", *docker_check], ports["host-a"], 8000),
            _healthcheck(services["api"]["healthcheck"]["test"], ports["host-b"], 8000),
            _healthcheck(services["worker"]["healthcheck"]["test"], metrics_port, 9101),
        ]
        for check in checks:
            assert subprocess.run(check, capture_output=True, timeout=30).returncode == 0, check

        # The guide's backup, restored into a new database, serves the same tokens.
        dump = tmp_path / "ztd.dump"
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", pg_url], check=True, timeout=120
        )
        restored = f"{pg_url.rsplit('/', 1)[1]}_restored"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{restored}"')
        restored_url = pg_url.rsplit("/", 1)[0] + f"/{restored}"
        subprocess.run(
            ["pg_restore", f"--dbname={restored_url}", "--no-owner", str(dump)],
            check=True,
            timeout=120,
        )
        deploy.shared["ZTD_DATABASE_URL"] = restored_url
        port_c = free_port()
        host_c = deploy.start(UNITS[API], "host-c", port=port_c)
        _wait_ready(f"http://127.0.0.1:{port_c}", host_c)
        batches = httpx.get(
            f"http://127.0.0.1:{port_c}/v1/customers/{customer}/deviceBatches", headers=auth
        )
        assert batches.status_code == 200, batches.text
        assert [(x["id"], x["devicesCount"]) for x in batches.json()["items"]] == [("first", 3)]
    finally:
        stop_within = {
            name: float(UNITS[name].value("Service", "TimeoutStopSec")) for name in (API, WORKER)
        }
        codes = [
            s.stop(stop_within[WORKER if s is worker else API])
            for s in deploy.services
            if s.process.poll() is None
        ]
    assert worker.process.returncode == 0, worker.log.read_text()
    assert all(code == 0 for code in codes), codes


def test_the_guide_backs_up_sqlite_online(tmp_path: Path) -> None:
    """The single-host default: sqlite3's .backup of a database in use reads back whole."""
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env["ZTD_DATA_DIR"] = str(tmp_path / ".ztd")
    partner = subprocess.run(
        [ZTD, "admin", "partner", "add", "Fabrikam"], env=env, capture_output=True, text=True
    ).stdout.strip()
    guide = (ROOT / "docs" / "deploy.md").read_text()
    command = 'sqlite3 .ztd/ztd.sqlite3 ".backup ztd-backup.sqlite3"'
    assert f"`{command}`" in guide
    subprocess.run(command, shell=True, cwd=tmp_path, check=True, timeout=60)
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    (tmp_path / "ztd-backup.sqlite3").rename(restored / "ztd.sqlite3")
    listed = subprocess.run(
        [ZTD, "admin", "partner", "list"],
        env={**env, "ZTD_DATA_DIR": str(restored)},
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert partner in listed.stdout
