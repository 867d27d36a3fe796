"""What a source file imports, read from its syntax tree without importing it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def imports_anywhere(path: Path) -> Iterator[str]:
    """Every absolute import of ``path``, at module level or inside a function: ``import
    a.b`` gives ``a.b``; ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
