"""The console's router: its page groups under /console, each a module of its own, and the
console's own 404 page last (a catch-all). A new page group (as webhook_pages was) adds its
router to PAGE_GROUPS and its link to ``pages.NAV``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from ztd.server.console import (
    customer_pages,
    emulator_pages,
    job_pages,
    operator_pages,
    sign_in_pages,
    webhook_pages,
)
from ztd.server.console.api_calls import Api
from ztd.server.console.guard import Missing, page
from ztd.server.console.pages import Viewer

PAGE_GROUPS = (
    sign_in_pages.router,
    customer_pages.router,  # a partner's: customers, batches, devices, policies
    job_pages.router,  # a partner's: upload, job progress and failures
    webhook_pages.router,  # a partner's: webhook registrations and their delivery log
    operator_pages.router,  # operators': partners and customers, the queue, requests
    emulator_pages.router,  # operators': rules, faults, throttling
)

# Last: the console's own 404 page for any other path under /console.
catch_all = APIRouter()


@catch_all.get("/{rest:path}")
async def unknown_page(request: Request, rest: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        raise Missing(f"The console has no page at {request.url.path}.")

    return await page(request, handler)


def include(app: FastAPI) -> None:
    for group in (*PAGE_GROUPS, catch_all):
        app.include_router(group, prefix="/console", include_in_schema=False)
