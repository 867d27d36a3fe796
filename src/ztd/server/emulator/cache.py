"""What each process knows of the stored controls, refreshed at most every REFRESH_SECONDS
(and at once after this process's own control-plane writes): the hot path reads memory.

The same refresh reads the world's generation (advanced by every reset and snapshot import,
in any process) and tells this process's caches of stored data when it moved: another
process's reset is seen here within REFRESH_SECONDS, like any other control."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy import exists, select

from ztd.server.emulator.routes import Route, route_named
from ztd.server.emulator.specs import FaultSpec, ThrottleSpec
from ztd.server.storage.database import Database
from ztd.server.storage.schema import (
    emulator_faults,
    emulator_holds,
    emulator_rules,
    emulator_throttling,
    emulator_world,
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
    # Called (from the refreshing thread) when the world's generation moved since the last
    # refresh: what this process cached of the stored world is stale.
    on_world_replaced: Callable[[], None] | None = None
    world_generation: int | None = None  # None: not read yet

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
        # One round trip while no fault is set (the usual case): this runs every second in
        # every API process, in a thread that holds the GIL for its Python part, which the
        # event loop then waits for.
        with self.db.read() as conn:
            state = conn.execute(_STATE).one()
            faults: Sequence[Any] = ()  # (id, spec) rows
            if state.faults:
                faults = conn.execute(
                    select(emulator_faults.c.id, emulator_faults.c.spec).order_by(
                        emulator_faults.c.created_at, emulator_faults.c.id
                    )
                ).all()
        self.faults = [StoredFault.load(id_, spec) for id_, spec in faults]
        self.holds_possible = bool(state.rules or state.held)
        stored = state.throttling
        spec = ThrottleSpec.model_validate_json(stored) if stored else self.default_throttling
        self.throttling = spec if spec.active else None
        generation = state.generation or 0
        seen, self.world_generation = self.world_generation, generation
        if seen is not None and seen != generation and self.on_world_replaced is not None:
            self.on_world_replaced()
        self.loaded_at = time.monotonic()


# Whether any fault, rule or held job exists, the stored throttling and the world's generation.
_STATE = select(
    exists().select_from(emulator_faults).label("faults"),
    exists().select_from(emulator_rules).label("rules"),
    exists().select_from(emulator_holds).label("held"),
    select(emulator_throttling.c.spec).limit(1).scalar_subquery().label("throttling"),
    select(emulator_world.c.generation).limit(1).scalar_subquery().label("generation"),
)
