"""The pytest examples in docs/testing.md, run as a user would: a pytest session of their
own, in another process, with ztd's plugin loaded from its entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.slow
def test_docs_testing_examples_pass(tmp_path: Path) -> None:
    blocks = python_blocks(DOC.read_text())
    tests = [b for b in blocks if "def test_" in b]
    assert len(tests) >= 5, "docs/testing.md should show a test for each failure branch"
    (tmp_path / "test_examples.py").write_text("\n\n".join(blocks))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_examples.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(tests)} passed" in result.stdout


def test_the_plugin_is_registered_by_entry_point() -> None:
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="pytest11")}
    assert "ztd.testing.pytest_plugin" in names
