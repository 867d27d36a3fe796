"""Garbage-collector settings for the long-running server and worker processes.

CPython's collector walks every container object it tracks when it runs a full collection.
A server process holds a few hundred thousand of them from its imports (FastAPI, pydantic,
SQLAlchemy) that will never be garbage, and a 10,000-device upload allocates enough to
trigger full collections: one took 120 ms in the middle of an upload, during which the worker
waited. Freezing the startup heap takes those objects out of every later collection.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once, when the process has imported and built everything it keeps."""
    gc.collect()
    gc.freeze()
