"""A ``limits`` storage in ztd's own database (ZTD_THROTTLE_STORAGE=database, the default):
every API process of a deployment, on one host or several, counts the same moving windows.

One row per admitted request (``emulator_throttle_hits``). Admitting is atomic per bucket:
on SQLite the write transaction (``BEGIN IMMEDIATE``) holds the database's one write lock; on
PostgreSQL a transaction-level advisory lock on the bucket serializes its counters while other
buckets go on. Admitting never deletes (no row lock to wait for); expired rows are pruned at
most every PRUNE_SECONDS per process, by one process at a time.

Times are this process's epoch seconds (``time.time()``, as the ``limits`` strategies compute
a reset): hosts that share a database keep their clocks in step (NTP), or a window is off by
their skew.
"""

from __future__ import annotations

import hashlib
import time
from typing import NamedTuple

import anyio.to_thread
from limits.aio.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from ztd.server.storage.database import Database
from ztd.server.storage.schema import emulator_throttle_hits

PRUNE_SECONDS = 60.0  # how often a process removes expired hits (the window counts only live)
# pg_advisory_xact_lock(LOCK_CLASS, bucket) namespace: the two-int4 key space, apart from the
# single-bigint locks elsewhere in ztd (PostgreSQL keeps the two spaces apart). LOCK_CLASS
# with bucket 0 elects the pruner.
LOCK_CLASS = 0x7A7464  # "ztd"
hits = emulator_throttle_hits
c = hits.c


class LiveBucket(NamedTuple):
    key: str  # the ``limits`` key
    hits: int  # admitted requests in its window
    oldest: float  # epoch seconds of the oldest of them


def bucket_of(key: str) -> str:
    """The indexed name of a ``limits`` key: its SHA-256, 64 hex digits."""
    return hashlib.sha256(key.encode()).hexdigest()


def _lock_id(bucket: str) -> int:
    """A signed 32-bit id for the bucket's advisory lock (a collision only serializes two
    buckets' counters; 0 is the pruner's)."""
    return int.from_bytes(bytes.fromhex(bucket[:8]), "big", signed=True) or 1


class DatabaseStorage(Storage, MovingWindowSupport):
    """Moving windows only (MovingWindowRateLimiter); the fixed-window counters (``incr``,
    ``get``, ``get_expiry``) raise NotImplementedError."""

    STORAGE_SCHEME = None  # built from a Database, not a URI

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.pruned_at = time.monotonic()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Admit ``amount`` requests into ``key``'s window of ``expiry`` seconds unless that
        would put more than ``limit`` in it; True when admitted."""
        return (await self.admit(key, limit, expiry, amount))[0]

    async def admit(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> tuple[bool, float, int]:
        """``acquire_entry`` and ``get_moving_window`` in one transaction: (admitted, epoch
        seconds of the oldest hit in the window, hits in it, this one included). What the
        throttler asks on each request: one round trip less, and the window it reports is the
        one it decided on."""
        if amount > limit:
            return False, *await self.get_moving_window(key, limit, expiry)
        verdict = await anyio.to_thread.run_sync(self._admit, key, limit, expiry, amount)
        if time.monotonic() - self.pruned_at > PRUNE_SECONDS:
            self.pruned_at = time.monotonic()
            await anyio.to_thread.run_sync(self.prune)
        return verdict

    def _admit(self, key: str, limit: int, expiry: int, amount: int) -> tuple[bool, float, int]:
        bucket = bucket_of(key)
        with self.db.write() as conn:
            if not self.db.is_sqlite:
                conn.execute(select(func.pg_advisory_xact_lock(LOCK_CLASS, _lock_id(bucket))))
            now = time.time()
            oldest, held = conn.execute(
                select(func.min(c.at), func.count()).where(c.bucket == bucket, c.at >= now - expiry)
            ).one()
            if held + amount > limit:
                return False, float(oldest), int(held)
            row = {"bucket": bucket, "key": key, "at": now, "expires_at": now + expiry}
            conn.execute(insert(hits), [row] * amount)
            return True, now if oldest is None else float(oldest), int(held) + amount

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(epoch seconds of the oldest hit in the window, hits in it); (now, 0) when empty."""
        return await anyio.to_thread.run_sync(self._window, key, expiry)

    def _window(self, key: str, expiry: int) -> tuple[float, int]:
        now = time.time()
        with self.db.read() as conn:
            oldest, count = conn.execute(
                select(func.min(c.at), func.count()).where(
                    c.bucket == bucket_of(key), c.at >= now - expiry
                )
            ).one()
        return (now, 0) if not count else (float(oldest), int(count))

    def live_buckets(self, most: int) -> list[LiveBucket]:
        """The buckets with hits in their window, newest hit first, at most ``most``."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(c.key, func.count(), func.min(c.at))
                .where(c.expires_at >= time.time())
                .group_by(c.bucket, c.key)
                .order_by(func.max(c.at).desc())
                .limit(most)
            ).all()
        return [LiveBucket(key, int(count), float(oldest)) for key, count, oldest in rows]

    def prune(self) -> int:
        """Delete the hits past every window; the rows deleted (0 while another process
        prunes)."""
        with self.db.write() as conn:
            if not self.db.is_sqlite and not _pruner(conn):
                return 0
            return int(conn.execute(delete(hits).where(c.expires_at < time.time())).rowcount)

    async def clear(self, key: str) -> None:
        """Empty ``key``'s window."""
        await anyio.to_thread.run_sync(self._delete, bucket_of(key))

    async def reset(self) -> int | None:
        """Empty every window; the hits deleted."""
        return await anyio.to_thread.run_sync(self._delete, None)

    def _delete(self, bucket: str | None) -> int:
        statement = delete(hits) if bucket is None else delete(hits).where(c.bucket == bucket)
        with self.db.write() as conn:
            return int(conn.execute(statement).rowcount)

    async def check(self) -> bool:
        """Whether the database answers."""
        try:
            await anyio.to_thread.run_sync(self._ping)
        except SQLAlchemyError:
            return False
        return True

    def _ping(self) -> None:
        with self.db.read() as conn:
            conn.execute(select(1))

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("ztd's database storage counts moving windows only")

    async def get(self, key: str) -> int:
        raise NotImplementedError("ztd's database storage counts moving windows only")

    async def get_expiry(self, key: str) -> float:
        raise NotImplementedError("ztd's database storage counts moving windows only")


def _pruner(conn: Connection) -> bool:
    """Whether this transaction may prune (PostgreSQL: no other process is pruning; two
    concurrent deletes of overlapping rows could deadlock)."""
    return bool(conn.execute(select(func.pg_try_advisory_xact_lock(LOCK_CLASS, 0))).scalar())
