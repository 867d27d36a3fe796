"""Server processes freeze their startup heap out of the garbage collector's way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_served_app_leaves_its_startup_objects_out_of_collections(tmp_path: Path) -> None:
    script = (
        "import gc\n"
        "from ztd.server.app import create_app_from_env\n"
        "create_app_from_env()\n"
        "print(gc.get_freeze_count(), sum(gc.get_count()))\n"
    )
    env = {
        **os.environ,
        "ZTD_DATA_DIR": str(tmp_path),
        "ZTD_DATABASE_URL": f"sqlite:///{tmp_path / 'heap.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    frozen, young = map(int, out.stdout.split())
    assert frozen > 50_000  # about 90,000: FastAPI, pydantic, SQLAlchemy ... all out of the way
    assert young < 1_000  # and nothing left pending for the next collection
