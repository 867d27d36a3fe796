"""The document as committed in docs/openapi.json: built from an app that touches nothing
(a throwaway data directory), serialised stably."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any


def document() -> dict[str, Any]:
    from ztd.server.app import create_app  # the app imports this package: import late
    from ztd.server.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/ztd.sqlite3")
        app = create_app(settings, embedded_worker=False)
        return app.openapi()


def document_text() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
