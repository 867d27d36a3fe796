"""The web console at /console: server-rendered pages (Jinja2, htmx for live parts) over the
same API for partner staff, and pages of their own for operators. ``mount(app)`` adds it to
the ASGI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from ztd.server.console import routes

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    # The static files first: the router ends with a catch-all (the console's own 404 page).
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    routes.include(app)
