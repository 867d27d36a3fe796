"""``python -m ztd.server.api.openapi [FILE]``: write the OpenAPI document (`make openapi`
refreshes docs/openapi.json with it; a test fails while the committed copy is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

from ztd.server.api.openapi.render import document_text


def main() -> None:
    text = document_text()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
