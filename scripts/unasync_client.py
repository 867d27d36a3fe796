"""Generate the SDK's sync modules from their async originals (``make unasync``).

The operations chain and the poller are written once, async, in ``src/ztd/client/aio/``;
their sync twins in ``src/ztd/client/`` are this script's output: ``async``/``await``
dropped, ``AsyncIterator`` -> ``Iterator``, ``AsyncPipeline`` -> ``Pipeline`` and so on
(unasync's token rules), then ruff's formatting. ``tests/client/test_unasync.py`` fails when
a committed sync module differs from what this script makes of its original.

    .venv/bin/python scripts/unasync_client.py           # rewrite the sync modules
    .venv/bin/python scripts/unasync_client.py --check   # exit 1 if one is out of date
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

CLIENT = Path(__file__).resolve().parent.parent / "src" / "ztd" / "client"
GENERATED = ("operations.py", "poller.py")  # from aio/<name> to <name>
RENAMES = {"AsyncPipeline": "Pipeline", "AsyncBatchUploadPoller": "BatchUploadPoller"}
HEADER = "# Generated from ztd/client/aio/{name} by scripts/unasync_client.py: edit that file.\n"


def generate() -> dict[str, str]:
    """The sync module each async original makes, by file name."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "aio"), Path(tmp, "sync")
        source.mkdir()
        for name in GENERATED:
            shutil.copy(CLIENT / "aio" / name, source / name)
        rule = unasync.Rule(f"{source}/", f"{target}/", additional_replacements=RENAMES)
        unasync.unasync_files([str(source / name) for name in GENERATED], [rule])
        outputs = [target / name for name in GENERATED]
        for path in outputs:
            path.write_text(HEADER.format(name=path.name) + path.read_text(encoding="utf-8"))
        ruff = Path(sys.executable).parent / "ruff"
        subprocess.run(
            [str(ruff), "check", "--fix-only", "--unsafe-fixes", "-q", *map(str, outputs)],
            check=True,
        )  # e.g. a loop of yields, all an async generator can do, becomes yield from
        subprocess.run([str(ruff), "format", "-q", *map(str, outputs)], check=True)
        return {path.name: path.read_text(encoding="utf-8") for path in outputs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args()
    stale = 0
    for name, text in generate().items():
        path = CLIENT / name
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale += 1
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), str(path), "generated", lineterm=""
            )
            print("\n".join(diff))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"{stale} sync module(s) out of date: run `make unasync`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
