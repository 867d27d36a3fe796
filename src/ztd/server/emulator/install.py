"""Wiring the emulator into an app: its routes, its state, and its outer ASGI layer."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from ztd.server.api.context import AppContext
from ztd.server.emulator import control
from ztd.server.emulator.cache import ControlCache
from ztd.server.emulator.gate import EmulatorGate


def install(app: FastAPI, ctx: AppContext, entry: ASGIApp) -> ASGIApp:
    """Add the control plane to ``app``; returns the entry wrapped in the emulator's gate."""
    cache = ControlCache(ctx.db)
    app.state.emulator = control.Emulator(db=ctx.db, cache=cache, clock=ctx.clock)
    app.include_router(control.router)
    return EmulatorGate(entry, cache, ctx.tokens, ctx.settings.server_id, control_plane=True)
