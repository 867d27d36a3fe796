"""The operator's read-only pages: partners and customers, the job queue (live), and the
recent requests (the emulator's journal). Only operator tokens see them; anyone else gets
the console's 404, as the API hides its control plane."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import REGISTRY
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ztd.server.api.context import context_of
from ztd.server.console import store_reads
from ztd.server.console.api_calls import Api
from ztd.server.console.guard import Missing, form_of, page
from ztd.server.console.pages import Viewer, render
from ztd.server.emulator import control
from ztd.server.emulator.journal import read as read_journal
from ztd.server.emulator.specs import tenant_key
from ztd.server.services import tenancy

router = APIRouter(prefix="/operator")
REQUESTS_SHOWN = 200
CUSTOMERS_SHOWN = 1000  # a hub with more: one partner's at a time
_JOURNAL_FILTERS = ("partner_id", "customer_id", "correlation_id", "method", "status")


@router.get("")
async def overview(request: Request) -> Response:
    """Every partner, and the customers of all (or, with ``?partner=ID``, of one)."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        db = context_of(request).db
        chosen = request.query_params.get("partner", "").strip() or None

        def read() -> tuple[list[tenancy.PartnerRow], list[tenancy.CustomerRow]]:
            with db.read() as conn:
                return tenancy.list_partners(conn), tenancy.list_customers(conn, chosen)

        try:
            partners, customers = await run_in_threadpool(read)
        except ValueError as exc:  # not a GUID
            raise Missing(f"No partner {chosen!r}: {exc}.") from None
        names = {p.id: p.name for p in partners}
        context = {
            "partners": partners,
            "customers": customers[:CUSTOMERS_SHOWN],
            "customers_total": len(customers),
            "partner_names": names,
            "chosen": chosen,
        }
        return render(request, "operator/overview.html", context, viewer=viewer)

    return await page(request, handler, operator=True)


async def _queue(request: Request, template: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        ctx = context_of(request)

        def read() -> store_reads.Queue:
            with ctx.db.read() as conn:
                return store_reads.queue(conn, ctx.clock())

        queue = await run_in_threadpool(read)
        context = {"queue": queue, "rescued_here": _rescued_by_this_process()}
        return render(request, template, context, viewer=viewer)

    return await page(request, handler, operator=True)


def _rescued_by_this_process() -> int:
    """Chunks this process's reaper requeued since it started (the Prometheus counter every
    process keeps for itself: with separate `ztd worker` processes, /metrics adds them up)."""
    value = REGISTRY.get_sample_value("ztd_reaper_rescues_total")
    return int(value or 0)


@router.get("/queue")
async def queue_page(request: Request) -> Response:
    return await _queue(request, "operator/queue.html")


@router.get("/queue/live")
async def queue_live(request: Request) -> Response:
    """The queue page's live part, polled by htmx every two seconds."""
    return await _queue(request, "operator/_queue.html")


@router.get("/requests")
async def requests_page(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        ctx = context_of(request)
        query = request.query_params
        filters: dict[str, str | int | None] = {
            name: (query.get(name) or "").strip() or None for name in _JOURNAL_FILTERS
        }
        problem = None
        if filters["status"] is not None:
            try:
                filters["status"] = int(str(filters["status"]))
            except ValueError:
                problem = f"Status {filters['status']!r} is not a number (e.g. 429)."
                filters["status"] = None
        for name in ("partner_id", "customer_id"):  # any GUID spelling, as the API reads it
            filters[name] = tenant_key(str(filters[name])) if filters[name] else None
        filters["method"] = filters["method"] and str(filters["method"]).upper()
        correlation = filters.pop("correlation_id")

        def read() -> list[object]:
            with ctx.db.read() as conn:
                return list(
                    read_journal(
                        conn,
                        REQUESTS_SHOWN,
                        correlation_id=str(correlation) if correlation else None,
                        **filters,
                    )
                )

        entries = await run_in_threadpool(read)
        context = {
            "entries": list(reversed(entries)),  # newest first
            "filters": {k: query.get(k, "") for k in _JOURNAL_FILTERS},
            "problem": problem,
            "journal_on": ctx.settings.journal and ctx.settings.control_plane,
            "control_plane": ctx.settings.control_plane,
        }
        status = 400 if problem else 200
        return render(request, "operator/requests.html", context, viewer=viewer, status=status)

    return await page(request, handler, operator=True)


@router.post("/requests/clear")
async def clear_requests(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        if not context_of(request).settings.control_plane:
            raise Missing("The emulator's control plane is off (ZTD_CONTROL_PLANE=false).")
        await run_in_threadpool(control.clear_requests, request)
        return RedirectResponse("/console/operator/requests", 303)

    return await page(request, handler, operator=True, write=True)
