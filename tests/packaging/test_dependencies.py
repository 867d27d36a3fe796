"""Each part of the package imports only what the extra that installs it requires: the SDK
(``ztd.client``, ``ztd.wire``, ``ztd.identity``) the base requirements, the command line
those and ``cli``, the service (and the commands that run it) those and ``server``. A new
import of, say, SQLAlchemy in the SDK fails here, before any wheel is built."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.imports import imports_anywhere

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "ztd"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _distributions(requirements: list[str]) -> set[str]:
    """The distributions the requirements install by name, with those their extras add
    (``uvicorn[standard]`` brings httptools); ``ztd[...]`` stands for those extras."""
    names: set[str] = set()
    for line in requirements:
        requirement = Requirement(line)
        if _name(requirement.name) == "ztd":
            for extra in requirement.extras:
                names |= _distributions(PROJECT["optional-dependencies"][extra])
            continue
        names.add(_name(requirement.name))
        for extra in requirement.extras:
            for dependency in map(Requirement, requires(requirement.name) or []):
                if dependency.marker is not None and dependency.marker.evaluate({"extra": extra}):
                    names.add(_name(dependency.name))
    return names


BASE = _distributions(PROJECT["dependencies"])
CLI = BASE | _distributions(PROJECT["optional-dependencies"]["cli"])
SERVER = CLI | _distributions(PROJECT["optional-dependencies"]["server"])


def _third_party(paths: list[Path]) -> dict[str, str]:
    """The distribution of each third-party module the files import, by module."""
    owners = packages_distributions()
    found: dict[str, str] = {}
    for path in paths:
        for module in imports_anywhere(path):
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top != "ztd":
                found[top] = _name(owners[top][0])
    return found


def _runs_the_service(path: Path) -> bool:
    return any(module.startswith("ztd.server") for module in imports_anywhere(path))


CLI_FILES = sorted((SRC / "cli").glob("*.py"))
SDK_FILES = [path for part in ("client", "wire", "identity") for path in (SRC / part).rglob("*.py")]
# The one module that may import an optional extra (lazily, when configured to).
TRACING = SRC / "server" / "observe" / "tracing.py"
SERVICE_FILES = [
    *(p for p in (SRC / "server").rglob("*.py") if p != TRACING),
    *filter(_runs_the_service, CLI_FILES),
]
PARTS = {
    "the SDK": (SDK_FILES, BASE),
    "the command line": ([p for p in CLI_FILES if not _runs_the_service(p)], CLI),
    "the service": (SERVICE_FILES, SERVER),
    "tracing": ([TRACING], SERVER | _distributions(PROJECT["optional-dependencies"]["otel"])),
}


@pytest.mark.parametrize("part", list(PARTS))
def test_each_part_imports_only_what_its_extra_installs(part: str) -> None:
    files, installed = PARTS[part]
    assert files
    missing = {m: d for m, d in _third_party(files).items() if d not in installed}
    assert not missing, f"{part} imports modules its install does not bring: {missing}"


def test_the_sdk_needs_none_of_the_service_dependencies() -> None:
    assert not BASE & {"fastapi", "sqlalchemy", "psycopg", "granian", "uvicorn", "alembic"}
    assert not BASE & {"typer", "rich"}
