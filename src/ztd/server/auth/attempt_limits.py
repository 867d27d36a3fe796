"""How often one address, and one client id, may try the token endpoint (the `limits`
library, in memory: each server process counts its own attempts).

Checking a client secret costs a deliberately slow hash, so attempts are counted before
any is made: an address over its limit is refused before its request body is read, and a
client id over its limit before its secret is hashed. Every attempt counts, good or bad;
an application needs a token an hour, not dozens a minute.
"""

from __future__ import annotations

import math
import time

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ztd.server.errors import Throttled


class AttemptLimits:
    def __init__(self, per_address: str, per_client: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_address = limits.parse_many(per_address)
        self._per_client = limits.parse_many(per_client)

    def admit_address(self, address: str) -> None:
        """Count an attempt from ``address``; 429 (Throttled) when it has used its limit."""
        self._admit(self._per_address, "address", address, f"from {address}")

    def admit_client(self, client_id: str) -> None:
        """Count an attempt for ``client_id`` (normalised); 429 when it has used its limit."""
        self._admit(self._per_client, "client", client_id, "for this client id")

    def _admit(self, items: list[limits.RateLimitItem], kind: str, key: str, whom: str) -> None:
        # All limits first, then count: a refused attempt uses none of them ("5/second;
        # 100/hour" must not spend the hourly allowance on attempts the second refused).
        for item in items:
            if not self._limiter.test(item, kind, key):
                reset_at, _remaining = self._limiter.get_window_stats(item, kind, key)
                wait = max(1, math.ceil(reset_at - time.time()))
                raise Throttled(
                    f"Too many token requests {whom} (at most {item}); retry after {wait} seconds.",
                    wait,
                )
        for item in items:
            self._limiter.hit(item, kind, key)
