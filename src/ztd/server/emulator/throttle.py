"""Throttling as Partner Center answers it: 429 with ``Retry-After`` once a partner (or a
partner acting for one customer) made more than N requests in S seconds.

Counted by the ``limits`` library with moving windows (at most N in any S seconds): in ztd's
own database by default (``database``), which every API process of the deployment shares; in
Redis (``redis://...``), shared too; or in this process's memory (``memory://``), where each
API process counts alone (``ztd serve`` starts several: together they admit several times N).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import NamedTuple, Protocol

import anyio
import anyio.to_thread
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter

from ztd.server.emulator.limits_storage import limits_storage
from ztd.server.emulator.specs import ThrottleLimit, ThrottleSpec
from ztd.server.emulator.throttle_store import DatabaseStorage
from ztd.server.settings import THROTTLE_IN_DATABASE
from ztd.server.storage.database import Database
from ztd.server.url_text import shown_url, without_secrets

RECENT_KEYS = 1000  # buckets GET /_ztd/v1/throttling reports
NAMESPACE = "ZTD"
# /readyz asks whether the storage answers at most this often (a probe every second from
# each load balancer must not become a ping each); a request that finds it failing tells
# /readyz at once.
HEALTH_SECONDS = 2.0
PING_TIMEOUT_SECONDS = 2.0  # a storage that does not answer a ping in this long is failing
SETTING = "ZTD_THROTTLE_STORAGE"


class Verdict:
    __slots__ = ("allowed", "limit", "remaining", "reset_after")

    def __init__(self, allowed: bool, limit: int, remaining: int, reset_after: int) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset_after = reset_after  # seconds until a request is admitted again


class Window(NamedTuple):
    """One bucket's moving window, as a counter reports it after counting a request."""

    allowed: bool  # the request was admitted (and counted)
    reset_at: float  # epoch seconds when the window admits one more
    remaining: int  # requests the window still admits


class _Counter(Protocol):
    """Where the moving windows are counted: the one seam between Throttler and a store."""

    async def hit(self, item: RateLimitItem, key: tuple[str, ...]) -> Window: ...

    async def buckets(self) -> list[dict[str, object]]: ...

    async def check(self) -> bool: ...

    def unavailable(self) -> str: ...


class _DatabaseCounter:
    """ztd's own database, shared by every API process: one transaction admits a request
    and reads the window it left (two round trips through ``limits``' strategy would let
    another process's request fall between them)."""

    def __init__(self, db: Database) -> None:
        self.storage = DatabaseStorage(db)

    async def hit(self, item: RateLimitItem, key: tuple[str, ...]) -> Window:
        expiry = item.get_expiry()
        allowed, start, held = await self.storage.admit(item.key_for(*key), item.amount, expiry)
        return Window(allowed, start + expiry, item.amount - held)

    async def buckets(self) -> list[dict[str, object]]:
        """Every bucket with hits in its window, whichever process counted them."""
        live = await anyio.to_thread.run_sync(self.storage.live_buckets, RECENT_KEYS)
        now = time.time()
        result: list[dict[str, object]] = []
        for bucket in live:
            parsed = parse_key(bucket.key)
            if parsed is not None:
                key, amount, seconds = parsed
                reset_at = bucket.oldest + seconds
                result.append(_bucket(key, amount, seconds, amount - bucket.hits, reset_at, now))
        return result

    async def check(self) -> bool:
        """True: this storage is the database /readyz checks itself (no second query)."""
        return True

    def unavailable(self) -> str:
        return (
            f"Throttling is on and its storage ({SETTING}=database, ztd's own database) "
            "failed to count this request; the server's log says why. Try again."
        )


class _LimitsCounter:
    """A ``limits`` storage URI (Redis, memory) through its moving-window strategy."""

    def __init__(self, storage: str) -> None:
        self.limiter = MovingWindowRateLimiter(limits_storage(storage))
        self.shown = shown_url(storage)
        # The buckets this process counted lately: what GET reports (the storage cannot
        # list its keys).
        self.recent: OrderedDict[tuple[str, ...], RateLimitItem] = OrderedDict()

    async def hit(self, item: RateLimitItem, key: tuple[str, ...]) -> Window:
        allowed = await self.limiter.hit(item, *key)
        stats = await self.limiter.get_window_stats(item, *key)
        self.recent[key] = item
        self.recent.move_to_end(key)
        while len(self.recent) > RECENT_KEYS:
            self.recent.popitem(last=False)
        return Window(allowed, stats.reset_time, stats.remaining)

    async def buckets(self) -> list[dict[str, object]]:
        """The buckets this process counted lately."""
        result = []
        for key, item in list(self.recent.items()):
            stats = await self.limiter.get_window_stats(item, *key)
            seconds = item.get_expiry()
            result.append(
                _bucket(key, item.amount, seconds, stats.remaining, stats.reset_time, time.time())
            )
        return result

    async def check(self) -> bool:
        """Whether the storage answers (Redis: PING)."""
        return bool(await self.limiter.storage.check())

    def unavailable(self) -> str:
        return (
            f"Throttling is on and its storage {SETTING}={self.shown} is not answering, so "
            "this request could not be counted. Start it, or set "
            f"{SETTING}=database to count in ztd's own database."
        )


class Throttler:
    def __init__(self, storage: str, db: Database) -> None:
        """``storage``: ZTD_THROTTLE_STORAGE, ``database`` or a ``limits`` storage URI
        (``memory://``, ``redis://host:6379/0``); a scheme ztd cannot use raises ValueError
        or limits.errors.ConfigurationError (the settings refuse those at start)."""
        self.counter: _Counter = (
            _DatabaseCounter(db) if storage == THROTTLE_IN_DATABASE else _LimitsCounter(storage)
        )
        self.setting = storage
        self.shown = shown_url(storage)  # the setting without credentials
        # (monotonic seconds when known, why the storage fails or None): what /readyz says
        # until HEALTH_SECONDS have passed.
        self._health: tuple[float, str | None] = (-math.inf, None)

    def without_secrets(self, text: str) -> str:
        """``text`` (an error about the storage) without the storage URL's password."""
        return without_secrets(text, self.setting)

    def failed(self, exc: BaseException) -> None:
        """A request found the storage failing: /readyz says so from now on, until a ping
        HEALTH_SECONDS later finds it answering."""
        self._health = (time.monotonic(), f"{type(exc).__name__}: {self.without_secrets(str(exc))}")

    async def problem(self) -> str | None:
        """Why the storage cannot count requests (None: it answers). Pings it at most every
        HEALTH_SECONDS, each ping bounded by PING_TIMEOUT_SECONDS."""
        checked_at, problem = self._health
        if time.monotonic() - checked_at < HEALTH_SECONDS:
            return problem
        try:
            with anyio.fail_after(PING_TIMEOUT_SECONDS):
                answers = await self.counter.check()
            problem = None if answers else "it does not answer"
        except TimeoutError:
            problem = f"no answer within {PING_TIMEOUT_SECONDS:g} s"
        except Exception as exc:
            problem = f"{type(exc).__name__}: {self.without_secrets(str(exc))}"
        self._health = (time.monotonic(), problem)
        return problem

    def unavailable(self) -> str:
        """What a request the storage could not count is answered (503): which setting,
        and what to do."""
        return self.counter.unavailable()

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
            item = RateLimitItemPerSecond(limit.requests, limit.per_seconds, namespace=NAMESPACE)
            window = await self.counter.hit(item, key)
            reset_after = max(1, math.ceil(window.reset_at - time.time()))
            current = Verdict(window.allowed, limit.requests, window.remaining, reset_after)
            if not window.allowed:
                return current
            if verdict is None or current.remaining < verdict.remaining:
                verdict = current
        return verdict

    async def buckets(self) -> list[dict[str, object]]:
        """The live buckets (newest first with the database storage; otherwise the ones this
        process counted lately). Each: {scope, partnerId, customerId?, limit, perSeconds,
        remaining, resetAfter (seconds until the window admits one more)}."""
        return await self.counter.buckets()


def _bucket(
    key: tuple[str, ...], limit: int, seconds: int, remaining: int, reset_at: float, now: float
) -> dict[str, object]:
    entry: dict[str, object] = {"scope": key[0], "partnerId": key[1]}
    if len(key) > 2:
        entry["customerId"] = key[2]
    return entry | {
        "limit": limit,
        "perSeconds": seconds,
        "remaining": max(0, remaining),
        "resetAfter": max(0, math.ceil(reset_at - now)),
    }


def parse_key(key: str) -> tuple[tuple[str, ...], int, int] | None:
    """(scope key, requests, seconds) of a ``limits`` key ``check`` made, e.g.
    ``ZTD/customer/{partner}/{customer}/3/30/second``; None for any other key (no tenant id
    holds a "/": each is one path segment or a token's claim)."""
    parts = key.split("/")
    if len(parts) < 6 or parts[0] != NAMESPACE or parts[-1] != "second":
        return None
    scope, ids = parts[1], parts[2:-3]
    if (scope, len(ids)) not in (("partner", 1), ("customer", 2)):
        return None
    try:
        return (scope, *ids), int(parts[-3]), int(parts[-2])
    except ValueError:
        return None
