"""The README's and docs/sdk.md's examples run as pasted, one after another, against a fresh
`ztd serve --demo` (what `make run` starts).

The convention, for whoever edits those documents:

- Every fenced block marked ``sh``, ``bash`` or ``python`` is run, in document order;
  blocks in other languages (or none) are not. A block right after an HTML comment starting
  ``<!-- not run`` is skipped: the comment says why (it starts the server, needs a real
  Partner Center tenant, or is a synopsis rather than a command).
- The reader's terminal is simulated: shell blocks of one document share their variables,
  functions and working directory (a scratch directory holding ``.venv``, as a checkout
  does, and the server's ``.ztd``); Python blocks run in a fresh interpreter each, with the
  environment the shell has exported so far. ``ZTD_URL`` and ``ZTD_TOKEN`` are exported as
  the reader does with what `make run` printed; nothing else is substituted.
- Each block must exit 0 (``set -eo pipefail``): a command expected to fail says with
  which code, ``ztd upload ... || [ $? -eq 2 ]``, so that any other failure still fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.live_server import free_port
from tests.support.waiting import STARTUP_SECONDS, wait_until

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "sdk.md")
RUN = {"sh": "sh", "bash": "sh", "python": "python"}
SKIP_MARK = "<!-- not run"
# Bash's own variables, which a shell must not try to restore.
_BASH_OWN = (
    r"BASH.*|EUID|PPID|UID|SHELLOPTS|GROUPS|FUNCNAME|PIPESTATUS|_|RANDOM|SRANDOM|SECONDS|"
    r"LINENO|EPOCH.*|HISTCMD|COMP_.*|DIRSTACK|OPTIND|OPTARG|OPTERR|IFS|PS4|HOSTNAME|HOSTTYPE|"
    r"MACHTYPE|OSTYPE|PWD|OLDPWD|SHLVL"
)


@dataclass(frozen=True)
class Block:
    document: str
    line: int  # of the opening fence
    kind: str  # "sh" or "python"
    code: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line} ({self.kind})"


def blocks_of(path: Path) -> list[Block]:
    """The runnable blocks of a Markdown file, in order, without the skipped ones."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    previous = ""  # the last non-blank line before the current one
    i = 0
    while i < len(lines):
        fence = re.match(r"^(```+)\s*(\S*)", lines[i])
        if fence is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith(fence.group(1)):
            end += 1
        kind = RUN.get(fence.group(2).lower())
        if kind is not None and not previous.startswith(SKIP_MARK):
            found.append(Block(path.name, i + 1, kind, "\n".join(lines[i + 1 : end]) + "\n"))
        previous = lines[i].strip()
        i = end + 1
    return found


def test_the_convention_finds_blocks_and_skips_marked_ones(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```sh\necho one\n```\n\n<!-- not run: a synopsis -->\n```sh\nztd serve [--port P]\n```\n"
        "```text\nnot code\n```\n```python\nprint(2)\n```\n",
        encoding="utf-8",
    )
    assert [(b.line, b.kind, b.code) for b in blocks_of(doc)] == [
        (1, "sh", "echo one\n"),
        (12, "python", "print(2)\n"),
    ]


class Terminal:
    """A reader's terminal in ``home``: shell state carried from block to block."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.state = home / ".doc-shell-state"
        self.state.write_text("", encoding="utf-8")

    def run(self, block: Block) -> subprocess.CompletedProcess[str]:
        if block.kind == "python":
            return subprocess.run(
                [sys.executable, "-c", block.code],
                cwd=self.home,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        env0 = self.home / ".doc-shell-env"
        script = (
            f"source {self.state} 2>/dev/null\n"
            "set -eo pipefail\n"
            f"{block.code}\n"
            "set +e\n"
            f"declare -p $(compgen -v | grep -vxE '{_BASH_OWN}') > {self.state} 2>/dev/null\n"
            f"declare -f >> {self.state}\n"
            f"env -0 > {env0}\n"
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode == 0:
            pairs = env0.read_bytes().decode().split("\0")
            self.env = dict(p.split("=", 1) for p in pairs if "=" in p)
        return done


def _start_demo_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`make run` in ``home``: returns the process and the token its banner printed."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ztd", "serve", "--demo", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    banner: list[str] = []
    token = None
    while token is None:
        assert time.monotonic() < deadline, "".join(banner)
        line = server.stderr.readline()
        assert line, "server exited early:\n" + "".join(banner)
        banner.append(line)
        found = re.match(r"token\s*: (\S+)", line)
        token = found.group(1) if found else None
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:  # asked with curl, as the README does
        assert server.poll() is None, "".join(banner)
        return not subprocess.run(["curl", "-sf", f"{url}/healthz"], capture_output=True).returncode

    wait_until(answering, timeout=STARTUP_SECONDS, interval=0.1, message=lambda: "".join(banner))
    env["ZTD_URL"], env["ZTD_TOKEN"] = url, token
    return server, url


@pytest.mark.slow
def test_readme_and_sdk_examples_run_as_pasted(tmp_path: Path) -> None:
    home = tmp_path / "checkout"
    home.mkdir()
    (home / ".venv").symlink_to(Path(sys.prefix))  # `make install` made it in a checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTD_")}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(  # a shell that has not activated the venv
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    server, _url = _start_demo_server(home, env)
    try:
        ran = 0
        for document in DOCUMENTS:
            terminal = Terminal(home, dict(env))  # each document read in a new terminal
            for block in blocks_of(document):
                done = terminal.run(block)
                assert done.returncode == 0, (
                    f"{block} failed (exit {done.returncode}):\n{block.code}\n"
                    f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
                )
                ran += 1
        assert ran >= 10
    finally:
        server.terminate()
        server.wait(20)
