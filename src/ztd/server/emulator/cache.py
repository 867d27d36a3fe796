"""What each process knows of the stored controls, refreshed at most every REFRESH_SECONDS
(and at once after this process's own control-plane writes): the hot path reads memory."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import anyio.to_thread
from sqlalchemy import func, select

from ztd.server.emulator.routes import Route, route_named
from ztd.server.emulator.specs import FaultSpec, ThrottleSpec
from ztd.server.storage.database import Database
from ztd.server.storage.schema import (
    emulator_faults,
    emulator_holds,
    emulator_rules,
    emulator_throttling,
)

log = logging.getLogger("ztd.server")

REFRESH_SECONDS = 1.0  # how late another process's control-plane write may take effect


@dataclass(frozen=True)
class StoredFault:
    id: str
    spec: FaultSpec
    # The operation ``spec.operation_id`` names, resolved when the fault is loaded rather
    # than on each request the gate weighs against it.
    route: Route | None = None

    @classmethod
    def load(cls, fault_id: str, spec_json: str | bytes) -> StoredFault:
        spec = FaultSpec.model_validate_json(spec_json)
        route = None if spec.operation_id is None else route_named(spec.operation_id)
        return cls(fault_id, spec, route)


@dataclass
class ControlCache:
    db: Database
    default_throttling: ThrottleSpec = field(default_factory=ThrottleSpec)  # the settings'
    faults: list[StoredFault] = field(default_factory=list)
    throttling: ThrottleSpec | None = None  # None: off
    holds_possible: bool = False  # a rule or a held job exists: status reads look for holds
    loaded_at: float = -math.inf
    refreshing: bool = False  # a periodic refresh is under way

    def invalidate(self) -> None:
        self.loaded_at = -math.inf

    def stale(self) -> bool:
        return time.monotonic() - self.loaded_at > REFRESH_SECONDS

    async def refresh_if_stale(self) -> None:
        if not self.stale():
            return
        if self.loaded_at == -math.inf:  # this process just wrote a control, or never read
            await anyio.to_thread.run_sync(self.refresh_or_keep)
            return
        # A periodic refresh: one request reads, the others go on with what is known (64
        # polls that all found it stale each queued a query, and p99 went to ~100 ms).
        if self.refreshing:
            return
        self.refreshing = True
        try:
            await anyio.to_thread.run_sync(self.refresh_or_keep)
        finally:
            self.refreshing = False

    def refresh_if_stale_sync(self) -> None:
        if self.stale():
            self.refresh_or_keep()

    def refresh_or_keep(self) -> None:
        """Refresh; when the database does not answer, keep what is known and try again in
        REFRESH_SECONDS: the controls must not turn a database hiccup into failed requests
        (/readyz reports the database)."""
        try:
            self.refresh()
        except Exception as exc:
            log.warning("emulator controls not refreshed: %s", exc)
            self.loaded_at = time.monotonic()

    def refresh(self) -> None:
        with self.db.read() as conn:
            faults = conn.execute(
                select(emulator_faults.c.id, emulator_faults.c.spec).order_by(
                    emulator_faults.c.created_at, emulator_faults.c.id
                )
            ).all()
            rules = conn.execute(select(func.count()).select_from(emulator_rules)).scalar_one()
            held = conn.execute(select(func.count()).select_from(emulator_holds)).scalar_one()
            stored = conn.execute(select(emulator_throttling.c.spec)).scalar()
        self.faults = [StoredFault.load(id_, spec) for id_, spec in faults]
        self.holds_possible = bool(rules or held)
        spec = ThrottleSpec.model_validate_json(stored) if stored else self.default_throttling
        self.throttling = spec if spec.active else None
        self.loaded_at = time.monotonic()
