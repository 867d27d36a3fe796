"""The package's import graph: no cycle at module level, and the SDK's private modules and
attributes stay the SDK's own (the CLI, like any user, goes through ``ztd.client``'s public
names; the poller is handed its pipeline instead of reading the client's)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.imports import imports_anywhere

SRC = Path(__file__).resolve().parents[1] / "src"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for path in SRC.rglob("*.py")}


def _top_level_imports(name: str) -> Iterator[str]:
    """The ztd modules ``name`` imports when it is imported: its module-level imports,
    also those only type checkers read (a cycle there is a cycle of the design)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(body: list[ast.stmt]) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.If | ast.Try):
                yield from walk(node.body)
                yield from walk(node.orelse)
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                for alias in node.names:
                    yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base

    for imported in walk(ast.parse(path.read_text(encoding="utf-8")).body):
        if imported in MODULES and imported != name:
            yield imported


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_level_import_cycle() -> None:
    graph = {name: set(_top_level_imports(name)) for name in MODULES}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_sdk_imports_its_private_modules() -> None:
    outside = {
        f"{name}: {imported}"
        for name, path in MODULES.items()
        if not name.startswith("ztd.client")
        for imported in imports_anywhere(path)
        if imported.startswith("ztd.client")
        and any(part.startswith("_") for part in imported.split(".")[2:])
    }
    assert outside == set()


def test_sdk_and_cli_read_no_other_objects_private_attributes() -> None:
    """``client._pipeline`` from the poller was one: what a part needs is handed to it."""
    reach_ins = {
        f"{name}:{node.lineno}: {ast.unparse(node)}"
        for name, path in MODULES.items()
        if name.startswith(("ztd.client", "ztd.cli"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    }
    assert reach_ins == set()


def test_the_job_engine_reaches_kinds_only_through_the_registry() -> None:
    """A new job kind is one module in jobs/kinds/ plus a line in the registry: nothing else
    of jobs/ imports a kind module, at module level or inside a function."""
    kinds, registry = "ztd.server.jobs.kinds", "ztd.server.jobs.kinds.registry"
    kind_modules = {name for name in MODULES if name.startswith(kinds + ".")} - {registry}
    assert kind_modules, "no kind module found: the test looks in the wrong place"
    reaching = {
        f"{name}: {imported}"
        for name, path in MODULES.items()
        if name.startswith("ztd.server.jobs") and not name.startswith(kinds)
        for imported in imports_anywhere(path)
        if imported in kind_modules
    }
    assert reaching == set()


def test_services_import_no_job_kind() -> None:
    """Kinds call services; a service importing a kind (or the engine's worker) would tie
    the two packages in a cycle."""
    reaching = {
        f"{name}: {imported}"
        for name, path in MODULES.items()
        if name.startswith("ztd.server.services")
        for imported in imports_anywhere(path)
        if imported.startswith(("ztd.server.jobs.kinds", "ztd.server.jobs.worker"))
    }
    assert reaching == set()


@pytest.mark.parametrize(
    "inner",
    [
        "ztd.server.services",
        "ztd.server.jobs",
        "ztd.server.status_reads",
        "ztd.server.storage",
        "ztd.server.webhooks",
    ],
)
def test_the_domain_and_below_import_nothing_from_the_http_edge(inner: str) -> None:
    """Services, the engine, the status reads, storage and webhooks know no HTTP framework
    layer: the API edge calls them, never the other way round (a read rule or a refusal
    lives below the edge, and the edge maps it)."""
    assert any(name.startswith(inner) for name in MODULES), f"no module under {inner}"
    reaching = {
        f"{name}: {imported}"
        for name, path in MODULES.items()
        if name.startswith(inner)
        for imported in imports_anywhere(path)
        if imported.startswith(("ztd.server.api", "ztd.server.console", "ztd.server.app"))
    }
    assert reaching == set()


def test_the_server_imports_nothing_from_the_cli() -> None:
    """The service runs without the command line's modules: what the console shares with it
    (the device-file reader, the grouping of warnings, an error's remedy) lives in
    ``ztd.identity``, which both import, so one checker serves both."""
    assert any(name.startswith("ztd.server.") for name in MODULES), "no server module found"
    reaching = {
        f"{name}: {imported}"
        for name, path in MODULES.items()
        if name == "ztd.server" or name.startswith("ztd.server.")
        for imported in imports_anywhere(path)
        if imported == "ztd.cli" or imported.startswith("ztd.cli.")
    }
    assert reaching == set()
