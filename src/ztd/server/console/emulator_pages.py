"""The emulator page (operators, while the control plane is on): device outcome rules, HTTP
faults and throttling, with forms to add and clear them. The forms call the control plane's
own functions in process (the same validation, storage and cache invalidation as a call to
/_ztd/v1/), never HTTP to this server."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ztd.server.api.context import context_of
from ztd.server.console import emulator_forms
from ztd.server.console.api_calls import Api
from ztd.server.console.emulator_forms import FormRefused
from ztd.server.console.guard import Missing, form_of, page
from ztd.server.console.pages import Viewer, render
from ztd.server.emulator import control

router = APIRouter(prefix="/operator/emulator")
HERE = "/console/operator/emulator"


@dataclass(frozen=True)
class Part:
    """One part of the page: its form read into the control plane's model, and the control
    plane's function that stores it; rules and faults also list, remove one, and clear."""

    parse: Callable[[Any], BaseModel]
    store: Callable[[Any, Request], object]
    listed: Callable[[Request, str | None, str | None], list[dict[str, Any]]] | None = None
    delete_one: Callable[[str, Request], object] | None = None
    clear_all: Callable[[Request, str | None, str | None], object] | None = None


def _throttling_from(form: Any) -> BaseModel:
    return emulator_forms.throttling_from({} if form.get("off") else form)  # "Turn off"


PARTS = {
    "rules": Part(
        emulator_forms.rule_from,
        control.add_rule,
        control.list_rules,
        control.delete_rule,
        control.clear_rules,
    ),
    "faults": Part(
        emulator_forms.fault_from,
        control.add_fault,
        control.list_faults,
        control.delete_fault,
        control.clear_faults,
    ),
    "throttling": Part(_throttling_from, control.set_throttling),
}


def _require_control_plane(request: Request) -> None:
    if not context_of(request).settings.control_plane:
        raise Missing("The emulator's control plane is off (ZTD_CONTROL_PLANE=false).")


def _part(name: str, *, listed: bool = False) -> Part:
    part = PARTS.get(name)
    if part is None or (listed and part.listed is None):
        raise Missing(f"The emulator page has no part {name!r}.")
    return part


async def _emulator_page(
    request: Request,
    viewer: Viewer,
    *,
    problems: dict[str, list[str]] | None = None,
    sent: dict[str, dict[str, str]] | None = None,
) -> Response:
    """The page, or on a refused form the page again (400) with its problems and what was
    typed, so nothing has to be typed twice."""
    listed = {
        name: await run_in_threadpool(part.listed, request, None, None)
        for name, part in PARTS.items()
        if part.listed is not None
    }
    throttling = await control.get_throttling(request)
    context = {
        "rules": listed["rules"],
        "faults": listed["faults"],
        "throttling": throttling,
        "problems": problems or {},
        "sent": sent or {},
        "error_choices": emulator_forms.ERROR_CHOICES,
        "status_choices": emulator_forms.STATUS_CHOICES,
        "method_choices": emulator_forms.METHOD_CHOICES,
    }
    status = 400 if problems else 200
    return render(request, "operator/emulator.html", context, viewer=viewer, status=status)


@router.get("")
async def emulator_page(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        _require_control_plane(request)
        return await _emulator_page(request, viewer)

    return await page(request, handler, operator=True)


@router.post("/{part_name}")
async def submit(request: Request, part_name: str) -> Response:
    """Add a rule or a fault, or set throttling, from its form."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        _require_control_plane(request)
        part = _part(part_name)
        try:
            spec = part.parse(form)
        except FormRefused as refused:
            typed = {k: str(v) for k, v in form.items() if k != "csrf"}
            return await _emulator_page(
                request, viewer, problems={part_name: refused.problems}, sent={part_name: typed}
            )
        await run_in_threadpool(part.store, spec, request)
        return RedirectResponse(f"{HERE}#{part_name}", 303)

    return await page(request, handler, operator=True, write=True)


@router.post("/{part_name}/clear")
async def clear(request: Request, part_name: str) -> Response:
    """Remove one rule or fault (``id``), or all of them."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        _require_control_plane(request)
        part = _part(part_name, listed=True)
        one = str(form.get("id") or "")
        if one and part.delete_one is not None:
            with contextlib.suppress(HTTPException):  # gone meanwhile: a used-up fault
                await run_in_threadpool(part.delete_one, one, request)
        elif part.clear_all is not None:
            await run_in_threadpool(part.clear_all, request, None, None)
        return RedirectResponse(f"{HERE}#{part_name}", 303)

    return await page(request, handler, operator=True, write=True)
