"""Where the workplace's shared reference folder is (the real Autopilot CSV fixtures live
there; tests read them in place and never copy them into the project).

Looked up in order: ``ZTD_SHARED_DIR``, ``../shared`` next to this checkout, and the
workplace's fixed ``/work/shared`` (a CI clone may sit elsewhere on the same machine).
"""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [
    Path(os.environ["ZTD_SHARED_DIR"]) if os.environ.get("ZTD_SHARED_DIR") else None,
    Path(__file__).resolve().parents[2].parent / "shared",
    Path("/work/shared"),
]


def shared_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate is not None and (candidate / "fixtures").is_dir():
            return candidate
    return Path(__file__).resolve().parents[2].parent / "shared"  # absent: callers decide


SHARED = shared_dir()
