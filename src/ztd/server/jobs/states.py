"""The states of a job chunk (``job_chunks.status``), the engine's one vocabulary for them.

``queued``: waiting to be claimed. ``running``: leased by a worker (or, with no lease, out of
attempts and about to be failed by the reaper). ``done``: its part of the status document is
stored. A chunk only moves queued -> running -> done, or back from running to queued when its
lease expires or its worker releases it.
"""

from __future__ import annotations

from enum import StrEnum


class ChunkState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
