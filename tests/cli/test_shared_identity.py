"""Several hosts, one identity: two `ztd serve --no-worker` processes with different data
directories on one PostgreSQL accept a token from `ztd admin token` run against either, and
after `ztd admin keys rotate` on one, the other accepts its new tokens within 10 s. File keys
made before are imported with `ztd admin keys import` and their tokens stay valid."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support.live_server import free_port
from tests.support.postgres import throwaway_database
from tests.support.waiting import wait_for_http, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timing]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database: the hosts' first start and migration are part of it."""
    with throwaway_database("ztd_hosts") as url:
        yield url


def _env(data_dir: Path, pg_url: str, kek: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env |= {"ZTD_DATA_DIR": str(data_dir), "ZTD_DATABASE_URL": pg_url}
    if kek is not None:
        env["ZTD_KEY_ENCRYPTION_KEY"] = kek
    return env


def _ztd(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ztd", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Host:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        serve = ["serve", "--no-worker", "--workers=1", f"--port={self.port}"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ztd", *serve],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_http(f"{self.base}/readyz", self.process)
        except AssertionError:
            self.stop()
            raise

    def accepts(self, token: str, customer: str) -> bool:
        response = httpx.get(
            f"{self.base}/v1/customers/{customer}/deviceBatches",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code in (200, 401), response.text
        return response.status_code == 200

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def test_two_hosts_share_tokens_and_a_rotation(tmp_path: Path, pg_url: str) -> None:
    kek = Fernet.generate_key().decode()
    env_a = _env(tmp_path / "host-a", pg_url, kek)
    env_b = _env(tmp_path / "host-b", pg_url, kek)

    # Keys made before the database held them: imported, their tokens stay valid.
    _ztd(env_a, "db", "upgrade")
    partner = _ztd(env_a, "admin", "partner", "add", "Fabrikam")
    customer = _ztd(env_a, "admin", "customer", "add", "Contoso", "--partner", partner)
    file_only = _env(tmp_path / "host-a", pg_url, None)
    old_token = _ztd(file_only, "admin", "token", "--partner", partner)
    imported = _ztd(env_a, "admin", "keys", "import").splitlines()
    assert len(imported) == 1

    hosts = [Host(env_a), Host(env_b)]
    try:
        token_a = _ztd(env_a, "admin", "token", "--partner", partner)
        token_b = _ztd(env_b, "admin", "token", "--partner", partner)
        for host in hosts:
            assert host.accepts(token_a, customer)
            assert host.accepts(token_b, customer)
            assert host.accepts(old_token, customer)
            jwks = httpx.get(f"{host.base}/.well-known/jwks.json").json()
            assert [key["kid"] for key in jwks["keys"]] == imported

        rotated = _ztd(env_a, "admin", "keys", "rotate")
        new_token = _ztd(env_a, "admin", "token", "--partner", partner)
        wait_until(
            lambda: all(host.accepts(new_token, customer) for host in hosts),
            interval=0.2,
            message="the rotation was not seen",
        )
        # Every host serves the new key, and signs with it.
        for host in hosts:
            wait_until(
                lambda host=host: rotated in _served_kids(host),
                interval=0.2,
                message=f"{host.base} does not serve the new key",
            )
    finally:
        for host in hosts:
            host.stop()


def _served_kids(host: Host) -> set[str]:
    return {k["kid"] for k in httpx.get(f"{host.base}/.well-known/jwks.json").json()["keys"]}


def test_a_bad_key_encryption_key_stops_serve_before_it_starts(tmp_path: Path, pg_url: str) -> None:
    _ztd(_env(tmp_path / "host", pg_url, None), "db", "upgrade")
    env = _env(tmp_path / "host", pg_url, "s3cret-value")
    done = subprocess.run(
        [sys.executable, "-m", "ztd", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: invalid setting ZTD_KEY_ENCRYPTION_KEY=(hidden): key 1 of 1 has 12 characters"
    ), done.stderr
    assert "s3cret-value" not in done.stderr and "database" not in done.stderr  # first
