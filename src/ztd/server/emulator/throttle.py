"""Throttling as Partner Center answers it: 429 with ``Retry-After`` once a partner (or a
partner acting for one customer) made more than N requests in S seconds.

Counted by the ``limits`` library with moving windows (at most N in any S seconds), in this
process's memory or in Redis, where several API processes share one count.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from ztd.server.emulator.specs import ThrottleLimit, ThrottleSpec

RECENT_KEYS = 1000  # buckets GET /_ztd/v1/throttling reports, per process


def storage_uri(setting: str) -> str:
    """ZTD_THROTTLE_STORAGE as the ``limits`` async storage URI."""
    return setting if setting.startswith("async+") else "async+" + setting


class Verdict:
    __slots__ = ("allowed", "limit", "remaining", "reset_after")

    def __init__(self, allowed: bool, limit: int, remaining: int, reset_after: int) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset_after = reset_after  # seconds until a request is admitted again


class Throttler:
    def __init__(self, storage: str) -> None:
        options = {"implementation": "redispy"} if "redis" in storage else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri(storage), **options))
        self.recent: OrderedDict[tuple[str, ...], RateLimitItem] = OrderedDict()

    async def check(
        self, spec: ThrottleSpec, partner_id: str, customer_id: str | None
    ) -> Verdict | None:
        """Count one request; the tightest verdict of the scopes that apply (None: none do)."""
        scopes: list[tuple[ThrottleLimit, tuple[str, ...]]] = []
        if spec.partner is not None:
            scopes.append((spec.partner, ("partner", partner_id)))
        if spec.customer is not None and customer_id is not None:
            scopes.append((spec.customer, ("customer", partner_id, customer_id)))
        verdict: Verdict | None = None
        for limit, key in scopes:
            item = RateLimitItemPerSecond(limit.requests, limit.per_seconds, namespace="ZTD")
            allowed = await self.limiter.hit(item, *key)
            stats = await self.limiter.get_window_stats(item, *key)
            self._remember(key, item)
            reset_after = max(1, math.ceil(stats.reset_time - time.time()))
            current = Verdict(allowed, limit.requests, stats.remaining, reset_after)
            if not allowed:
                return current
            if verdict is None or current.remaining < verdict.remaining:
                verdict = current
        return verdict

    def _remember(self, key: tuple[str, ...], item: RateLimitItem) -> None:
        self.recent[key] = item
        self.recent.move_to_end(key)
        while len(self.recent) > RECENT_KEYS:
            self.recent.popitem(last=False)

    async def buckets(self) -> list[dict[str, object]]:
        """The live state of the buckets this process counted lately."""
        result: list[dict[str, object]] = []
        for key, item in list(self.recent.items()):
            stats = await self.limiter.get_window_stats(item, *key)
            entry: dict[str, object] = {"scope": key[0], "partnerId": key[1]}
            if len(key) > 2:
                entry["customerId"] = key[2]
            entry |= {
                "limit": item.amount,
                "perSeconds": item.get_expiry(),
                "remaining": stats.remaining,
                "resetAfter": max(0, math.ceil(stats.reset_time - time.time())),
            }
            result.append(entry)
        return result
