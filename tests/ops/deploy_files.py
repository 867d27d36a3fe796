"""Reading the deployment files of deploy/ the way their tools do, enough for the tests to
run what they say: systemd units, the environment file, the Dockerfile's instructions."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALLED_ZTD = "/opt/ztd/bin/ztd"  # where the guide installs ztd


@dataclass
class Unit:
    """A systemd unit file: its settings by section, in order (keys may repeat)."""

    name: str
    settings: dict[str, list[tuple[str, str]]]

    def values(self, section: str, key: str) -> list[str]:
        return [value for k, value in self.settings.get(section, []) if k == key]

    def value(self, section: str, key: str) -> str:
        found = self.values(section, key)
        assert len(found) == 1, f"{self.name}: [{section}] {key} set {len(found)} times"
        return found[0]

    def exec_start(self, instance: str = "") -> list[str]:
        return [
            arg.replace("%i", instance) for arg in shlex.split(self.value("Service", "ExecStart"))
        ]

    def environment(self, credentials: Path) -> dict[str, str]:
        """Its Environment= lines, with %d (the credentials directory) resolved."""
        found = {}
        for line in self.values("Service", "Environment"):
            for assignment in shlex.split(line):
                key, _, value = assignment.partition("=")
                found[key] = value.replace("%d", str(credentials))
        return found


def read_unit(path: Path) -> Unit:
    settings: dict[str, list[tuple[str, str]]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            settings.setdefault(section, [])
            continue
        key, sep, value = line.partition("=")
        assert sep and section, f"{path.name}: not a setting: {raw!r}"
        settings[section].append((key.strip(), value.strip()))
    return Unit(path.name, settings)


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= (and a shell's `set -a; .`) read them."""
    found = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not an assignment: {raw!r}"
        found[key] = value
    return found


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    instructions = []
    pending = ""
    for raw in path.read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def exec_form(arguments: str) -> list[str]:
    """A JSON-array (exec form) argument of CMD, ENTRYPOINT or HEALTHCHECK ... CMD."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value
