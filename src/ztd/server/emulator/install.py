"""Wiring the emulator into an app: its routes, its state, and its outer ASGI layer."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from ztd.server.api.context import AppContext
from ztd.server.emulator import control
from ztd.server.emulator.cache import ControlCache
from ztd.server.emulator.gate import EmulatorGate
from ztd.server.emulator.journal import Journal
from ztd.server.emulator.specs import ThrottleSpec, parse_limit
from ztd.server.emulator.throttle import Throttler


def install(app: FastAPI, ctx: AppContext, entry: ASGIApp) -> ASGIApp:
    """Add the control plane to ``app``; returns the entry wrapped in the emulator's gate."""
    settings = ctx.settings
    emulator = control.Emulator(
        db=ctx.db,
        cache=ControlCache(
            ctx.db,
            default_throttling=ThrottleSpec(
                partner=parse_limit(settings.throttle_partner),
                customer=parse_limit(settings.throttle_customer),
                rate_limit_headers=settings.throttle_headers,
            ),
            # Another process's reset: drop the status documents of a world that is gone.
            on_world_replaced=ctx.status_reads.forget_everything,
        ),
        clock=ctx.clock,
        journal=Journal(settings.journal_max_entries, settings.journal_max_age_seconds),
        throttler=Throttler(settings.throttle_storage, ctx.db),
    )
    app.state.emulator = emulator
    app.include_router(control.router)
    return EmulatorGate(
        entry,
        emulator,
        ctx.tokens,
        settings.server_id,
        control_plane=True,
        journal_always=settings.journal,
    )
