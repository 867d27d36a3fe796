"""The database storage of throttling's moving windows, on real SQLite and PostgreSQL: exact
under concurrency, moving, pruned, cleared; and the keys GET /_ztd/v1/throttling reads back."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from ztd.server.emulator import throttle_store
from ztd.server.emulator.throttle import parse_key
from ztd.server.emulator.throttle_store import DatabaseStorage
from ztd.server.storage.database import Database
from ztd.server.storage.schema import emulator_throttle_hits


def _rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(emulator_throttle_hits)).scalar())


@pytest.mark.parametrize(("limit", "callers"), [(1, 8), (5, 24)])
def test_concurrent_callers_get_exactly_the_limit(db: Database, limit: int, callers: int) -> None:
    """Callers on their own threads and connections: count-then-insert is one atomic step per
    bucket (without the lock, PostgreSQL's READ COMMITTED admits more)."""
    storage = DatabaseStorage(db)

    async def race() -> list[bool]:
        return await asyncio.gather(
            *(storage.acquire_entry("ZTD/partner/p/x", limit, 60) for _ in range(callers))
        )

    assert sum(asyncio.run(race())) == limit
    assert _rows(db) == limit


def test_the_window_moves_and_buckets_are_apart(db: Database) -> None:
    storage = DatabaseStorage(db)

    async def run() -> None:
        assert await storage.get_moving_window("a", 2, 1) == (pytest.approx(time.time(), abs=1), 0)
        first = time.time()
        assert await storage.acquire_entry("a", 2, 1)
        assert await storage.acquire_entry("a", 2, 1)
        assert not await storage.acquire_entry("a", 2, 1)  # refused: not counted
        assert await storage.acquire_entry("b", 2, 1)  # another bucket
        oldest, count = await storage.get_moving_window("a", 2, 1)
        assert count == 2 and first <= oldest <= time.time()
        assert not await storage.acquire_entry("b", 2, 1, amount=3)  # more than the limit
        admitted, start, held = await storage.admit("a", 2, 1)  # what the throttler asks
        assert (admitted, start, held) == (False, oldest, 2)
        admitted, start, held = await storage.admit("b", 2, 1)
        assert admitted and held == 2 and first <= start <= time.time()
        await asyncio.sleep(1.1)
        assert await storage.get_moving_window("a", 2, 1) == (pytest.approx(time.time(), abs=1), 0)
        assert await storage.acquire_entry("a", 2, 1, amount=2)
        await storage.clear("a")
        assert (await storage.get_moving_window("a", 2, 1))[1] == 0
        assert (await storage.get_moving_window("b", 2, 60))[1] == 2  # clear: "a" alone
        assert await storage.reset() == 2
        assert await storage.check()

    asyncio.run(run())


def test_expired_hits_are_pruned(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PRUNE_SECONDS a process deletes the hits past every window, of every bucket
    (one hit per bucket is all a customer touched once leaves behind)."""
    monkeypatch.setattr(throttle_store, "PRUNE_SECONDS", 0.0)
    storage = DatabaseStorage(db)

    async def run() -> None:
        for key in ("old-1", "old-2"):
            assert await storage.acquire_entry(key, 5, 1)
        await asyncio.sleep(1.1)
        assert await storage.acquire_entry("live", 5, 60)  # and prunes after admitting

    asyncio.run(run())
    with db.read() as conn:
        left = conn.execute(select(emulator_throttle_hits.c.key)).scalars().all()
    assert left == ["live"]
    assert [b.key for b in storage.live_buckets(10)] == ["live"]


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("ZTD/partner/p1/3/30/second", (("partner", "p1"), 3, 30)),
        ("ZTD/customer/p1/c1/2/60/second", (("customer", "p1", "c1"), 2, 60)),
        ("ZTD/customer/p1/3/30/second", None),  # a customer bucket names two tenants
        ("ZTD/partner/p1/c1/3/30/second", None),
        ("ZTD/partner/p1/x/30/second", None),
        ("ZTD/partner/p1/3/30/minute", None),
        ("LIMITER/partner/p1/3/30/second", None),
    ],
)
def test_parse_key(key: str, parsed: object) -> None:
    assert parse_key(key) == parsed
