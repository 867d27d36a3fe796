"""The distribution as a user installs it: the wheel, in a fresh virtual environment.

`pip install ztd` must give the SDK without the service's dependencies, and `ztd[cli]` the
command, whose service commands then say which extra they need. Dependencies come through
pip (its cache, else the package index), so this takes a few seconds to a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SDK_CHECK = """
import importlib.util
import ztd.client, ztd.client.aio, ztd.identity, ztd.wire
from ztd.client import PartnerClient, SETTING_NAMES
from ztd.identity import synthesize_device
from ztd.identity.device import identity_of
from ztd.wire import Device

server_side = [m for m in ("fastapi", "sqlalchemy", "typer", "rich") if importlib.util.find_spec(m)]
assert not server_side, f"installed with the SDK: {server_side}"
device = synthesize_device(7)
assert identity_of(Device(hardware_hash=device.hardware_hash)).error is None
with PartnerClient("http://127.0.0.1:9", token="t") as partner:
    assert partner.base_url.startswith("http://127.0.0.1:9")
assert SETTING_NAMES
print("sdk ok")
"""


def _run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=600
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, ROOT)
    (built,) = out.glob("ztd-*.whl")
    return built


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment without pip: this interpreter's pip installs into it."""
    where = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", where)
    return where / "bin"


def _install(env: Path, requirement: str) -> None:
    _run(sys.executable, "-m", "pip", "--python", env / "python", "install", "-q", requirement)


def test_the_base_install_is_the_sdk_alone_and_the_cli_extra_adds_the_command(
    wheel: Path, env: Path
) -> None:
    _install(env, str(wheel))
    assert "sdk ok" in _run(env / "python", "-c", SDK_CHECK).stdout

    # The script is installed with the SDK, and says what is missing.
    bare = _run(env / "ztd", "--help", check=False)
    assert bare.returncode == 1
    assert "pip install 'ztd[cli]'" in bare.stderr
    assert "Traceback" not in bare.stderr

    _install(env, f"{wheel}[cli]")
    helped = _run(env / "ztd", "--help")
    for command in ("upload", "status", "policies", "csv", "serve", "admin"):
        assert command in helped.stdout
    assert "Needs the service: pip install 'ztd[server]'" in helped.stdout
    for args in (("serve", "--port", "8123"), ("admin", "token", "--partner", "x"), ("db",)):
        refused = _run(env / "ztd", *args, check=False)
        assert refused.returncode == 1, args
        assert "pip install 'ztd[server]'" in refused.stderr, args
        assert "Traceback" not in refused.stderr, args
    # The file commands work without the service.
    devices = env.parent / "devices.csv"
    _run(env / "ztd", "demo-data", "--output", devices, "--count", "3", "--seed", "1")
    assert "3 devices" in _run(env / "ztd", "csv", "check", devices).stdout
    no_server = "import importlib.util as u; print(u.find_spec('sqlalchemy'))"
    assert _run(env / "python", "-c", no_server).stdout.strip() == "None"
