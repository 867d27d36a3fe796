"""The batch-job engine: every asynchronous operation is a job of some kind, split into
chunks that workers lease.

- ``enqueue``: a job, its items and its queued chunks, in the request's transaction.
- ``states``: a chunk's states (queued -> running -> done; back to queued on expiry/release).
- ``leases``: claim, heartbeat, fence, release, and the reaper of expired leases.
- ``items``: reading a chunk's items.
- ``contract``: what a kind is (``JobKind``) and what it gets (``ChunkContext``, never the
  lease) and answers (``AS_PLANNED`` or ``WorkedOut``).
- ``kinds``: one module per kind, found only through ``kinds.registry``.
- ``worker``: claim -> fence -> process (the kind) -> finish, in one transaction per chunk;
  graceful stop (``interrupt``).
- ``finishing``: the last chunk's transaction stores the final document and calls the
  job-finished callbacks.
- ``documents``: the status documents, assembled from each chunk's stored part.

Guarantees: a chunk's work and its ``done`` state commit together under the lease's fencing
token, so a worker whose lease was taken over writes nothing; a crashed worker's chunk is
requeued by the reaper and re-run from scratch (kinds are idempotent through the database's
unique keys); a stopping worker's chunk is finished or rolled back and released.
"""
