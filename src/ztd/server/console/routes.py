"""The console's pages. Each handler signs the viewer in from the session cookie, checks
the CSRF token on writes, and asks the /v1 API (in process, with the viewer's token) for
what it shows or changes; an API error becomes the console's error page with its
description."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from ztd.cli.failures import remedy_of
from ztd.server.api.context import context_of
from ztd.server.api.security import WRITER_ROLES
from ztd.server.auth.tokens import InvalidToken
from ztd.server.console import preflight, uploads
from ztd.server.console.api_calls import Api, ApiAnswer, seg
from ztd.server.console.pages import Viewer, error_page, render
from ztd.server.console.session import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    csrf_for,
    csrf_valid,
    new_pre_session,
    set_cookie,
)
from ztd.wire import PolicySettingsType

log = logging.getLogger("ztd.server.console")
router = APIRouter(prefix="/console", include_in_schema=False)
DEVICES_PER_PAGE = 100
SEARCH_SCAN_LIMIT = 100_000  # devices read to answer one search
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
SESSION_AT_MOST_SECONDS = 24 * 3600


class ApiProblem(Exception):
    def __init__(self, answer: ApiAnswer) -> None:
        super().__init__(answer.description)
        self.answer = answer


class NotSignedIn(Exception):
    pass


class BadCsrf(Exception):
    pass


def _viewer(request: Request) -> tuple[Viewer, str]:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn
    try:
        principal = context_of(request).tokens.validate(token)
    except InvalidToken as exc:
        raise NotSignedIn from exc
    can_write = principal.app_only or bool(principal.roles & WRITER_ROLES)
    return Viewer(principal, csrf_for(token), can_write), token


async def _form(request: Request, viewer: Viewer) -> Any:
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    sent = form.get("csrf")
    if not csrf_valid(viewer.csrf, sent if isinstance(sent, str) else None):
        raise BadCsrf
    return form


def _api(request: Request, token: str | None) -> Api:
    return Api(request.app, token)


def _ok(answer: ApiAnswer) -> ApiAnswer:
    if not answer.ok:
        raise ApiProblem(answer)
    return answer


Page = Callable[[Request, Viewer, Api], Awaitable[Response]]


async def _page(request: Request, handler: Page, *, write: bool = False) -> Response:
    """Sign-in, CSRF and the error page, for every page."""
    try:
        viewer, token = _viewer(request)
    except NotSignedIn:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/console/sign-in"})
        return RedirectResponse(f"/console/sign-in?next={quote(request.url.path)}", 303)
    try:
        if write and not viewer.can_write:
            # The API would refuse it too (403); say so without sending anything.
            return error_page(
                request,
                403,
                "Not allowed",
                "Your role (Sales agent) reads only: it cannot change anything.",
                viewer,
            )
        async with _api(request, token) as api:
            return await handler(request, viewer, api)
    except BadCsrf:
        return error_page(
            request,
            403,
            "Form expired",
            "The form's security token is missing or wrong (CSRF). Reload the page and send "
            "the form again.",
            viewer,
        )
    except ApiProblem as problem:
        answer = problem.answer
        title = {404: "Not found", 403: "Not allowed", 401: "Signed out"}.get(
            answer.status, "The service refused"
        )
        return error_page(
            request, answer.status, title, f"{answer.description} ({answer.code})", viewer
        )
    except Exception:  # a bug: logged, and the console's page rather than a bare 500
        log.exception("console page %s failed", request.url.path)
        return error_page(
            request,
            500,
            "Unexpected error",
            "Unexpected service error; it has been logged.",
            viewer,
        )


# -- sign-in ---------------------------------------------------------------------------------


@router.get("")
async def home(request: Request) -> Response:
    return RedirectResponse("/console/customers", 303)


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    nonce = new_pre_session()
    response = render(
        request, "sign_in.html", {"csrf": nonce, "next": _next(request), "problem": None}
    )
    set_cookie(request, response, PRE_SESSION_COOKIE, nonce, 3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    nonce = request.cookies.get(PRE_SESSION_COOKIE, "")
    sent = form.get("csrf")
    if not nonce or not csrf_valid(nonce, sent if isinstance(sent, str) else None):
        return error_page(
            request, 403, "Form expired", "Reload the sign-in page and sign in again (CSRF)."
        )
    token = str(form.get("token") or "").strip().removeprefix("Bearer ").strip()
    client_id = str(form.get("client_id") or "").strip()
    if not token and client_id:
        async with _api(request, None) as api:
            answer = await api.call(
                "POST",
                "/oauth2/token",
                form={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": str(form.get("client_secret") or ""),
                },
            )
        if not answer.ok:
            data = answer.json() if answer.body.startswith(b"{") else {}
            reason = data.get("error_description") or answer.description
            return _sign_in_again(request, f"The client credentials were refused: {reason}")
        token = str(answer.json()["access_token"])
    if not token:
        return _sign_in_again(request, "Paste a token, or give a client id and secret.")
    try:
        principal = context_of(request).tokens.validate(token)
    except InvalidToken as exc:
        return _sign_in_again(request, f"The token was rejected: {exc}.")
    response = RedirectResponse(_next(request, str(form.get("next") or "")), 303)
    # The session ends with the token (one without exp: after a day, sign in again).
    lifetime = min(principal.expires_at - time.time(), SESSION_AT_MOST_SECONDS)
    set_cookie(request, response, SESSION_COOKIE, token, int(lifetime))
    clear_cookie(request, response, PRE_SESSION_COOKIE)
    return response


def _sign_in_again(request: Request, problem: str) -> Response:
    nonce = new_pre_session()
    response = render(
        request,
        "sign_in.html",
        {"csrf": nonce, "next": _next(request), "problem": problem},
        status=400,
    )
    set_cookie(request, response, PRE_SESSION_COOKIE, nonce, 3600)
    return response


def _next(request: Request, value: str | None = None) -> str:
    target = value if value is not None else request.query_params.get("next", "")
    # Only a console path: never an open redirect to another site.
    if target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return "/console/customers"


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await _form(request, viewer)
        response = RedirectResponse("/console/sign-in", 303)
        clear_cookie(request, response, SESSION_COOKIE)
        return response

    return await _page(request, handler)


# -- customers and batches -------------------------------------------------------------------


@router.get("/customers")
async def customers_page(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:  # every page: a partner's customers fit on a screen or a scroll
            headers = {"MS-ContinuationToken": token} if token else None
            data = _ok(
                await api.call("GET", "/v1/customers", params={"size": "500"}, headers=headers)
            ).json()
            items += data["items"]
            token = data.get("continuationToken")
            if not token or len(items) > 5000:
                break
        return render(request, "customers.html", {"customers": items}, viewer=viewer)

    return await _page(request, handler)


@router.post("/customers")
async def create_customer(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await _form(request, viewer)
        name = str(form.get("name") or "").strip()
        domain = str(form.get("domain") or "").strip()
        body = {"companyProfile": {"domain": domain or None}, "billingProfile": {}}
        body["billingProfile"]["companyName"] = name or None
        created = _ok(await api.call("POST", "/v1/customers", json=body)).json()
        return RedirectResponse(f"/console/customers/{created['id']}", 303)

    return await _page(request, handler, write=True)


async def _customer(api: Api, customer_id: str) -> dict[str, Any]:
    data: dict[str, Any] = _ok(await api.call("GET", f"/v1/customers/{seg(customer_id)}")).json()
    return data


@router.get("/customers/{customer_id}")
async def batches_page(request: Request, customer_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer = await _customer(api, customer_id)
        base = f"/v1/customers/{seg(customer_id)}"
        batches = _ok(await api.call("GET", f"{base}/deviceBatches")).json()["items"]
        return render(
            request, "batches.html", {"customer": customer, "batches": batches}, viewer=viewer
        )

    return await _page(request, handler)


@router.get("/customers/{customer_id}/batches/{batch_id}")
async def devices_page(request: Request, customer_id: str, batch_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer = await _customer(api, customer_id)
        base = f"/v1/customers/{seg(customer_id)}"
        batch = _ok(await api.call("GET", f"{base}/deviceBatches/{seg(batch_id)}")).json()
        query = request.query_params
        search = query.get("q", "").strip()
        policy_filter = query.get("policy", "")
        page_token = query.get("page", "")
        path = f"{base}/deviceBatches/{seg(batch_id)}/devices"
        shown: list[dict[str, Any]] = []
        next_token: str | None = None
        if search or policy_filter:
            # The API lists a batch 100 devices a page: read on until the page is full.
            token: str | None = None
            scanned = 0
            while len(shown) < DEVICES_PER_PAGE and scanned < SEARCH_SCAN_LIMIT:
                headers = {"MS-ContinuationToken": token} if token else None
                data = _ok(await api.call("GET", path, headers=headers)).json()
                scanned += len(data["items"])
                shown += [d for d in data["items"] if _matches(d, search, policy_filter)]
                token = data.get("continuationToken")
                if not token:
                    break
            shown = shown[:DEVICES_PER_PAGE]
        else:
            headers = {"MS-ContinuationToken": page_token} if page_token else None
            data = _ok(await api.call("GET", path, headers=headers)).json()
            shown, next_token = data["items"], data.get("continuationToken")
        policies = _ok(await api.call("GET", f"{base}/policies")).json()["items"]
        return render(
            request,
            "devices.html",
            {
                "customer": customer,
                "batch": batch,
                "devices": shown,
                "next_token": next_token,
                "search": search,
                "policy_filter": policy_filter,
                "policies": policies,
                "policy_names": {p["id"]: p["name"] for p in policies},
            },
            viewer=viewer,
        )

    return await _page(request, handler)


def policy_of(device: dict[str, Any]) -> str:
    for entry in device.get("policies") or []:
        if entry.get("value"):
            return str(entry["value"])
    return ""


def _matches(device: dict[str, Any], search: str, policy_filter: str) -> bool:
    if search:
        needle = search.casefold()
        fields = (device.get("serialNumber"), device.get("productKey"), device.get("id"))
        if not any(needle in (value or "").casefold() for value in fields):
            return False
    if policy_filter == "none":
        return not policy_of(device)
    if policy_filter:
        return policy_of(device) == policy_filter
    return True


@router.post("/customers/{customer_id}/batches/{batch_id}/policy")
async def assign_policy(request: Request, customer_id: str, batch_id: str) -> Response:
    """Assign (or with no policy chosen, unassign) a policy to the selected devices."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await _form(request, viewer)
        policy_id = str(form.get("policy") or "")
        device_ids = [str(d) for d in form.getlist("device")]
        if not device_ids:
            return error_page(
                request,
                400,
                "No device selected",
                "Tick the devices to change in the list, then choose the policy again.",
                viewer,
            )
        entry: dict[str, Any] = {"key": "o_o_b_e"}
        if policy_id:
            entry["value"] = policy_id
        base = f"/v1/customers/{seg(customer_id)}/deviceBatches/{seg(batch_id)}/devices"
        for device_id in device_ids:
            _ok(await api.call("PUT", f"{base}/{seg(device_id)}", json={"policies": [entry]}))
        return RedirectResponse(
            f"/console/customers/{seg(customer_id)}/batches/{seg(batch_id)}", 303
        )

    return await _page(request, handler, write=True)


# -- upload and jobs -------------------------------------------------------------------------


@router.get("/customers/{customer_id}/upload")
async def upload_form(request: Request, customer_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer = await _customer(api, customer_id)
        base = f"/v1/customers/{seg(customer_id)}"
        batches = _ok(await api.call("GET", f"{base}/deviceBatches")).json()["items"]
        return render(
            request,
            "upload.html",
            {
                "customer": customer,
                "batches": batches,
                "report": None,
                "chosen": request.query_params.get("batch", ""),
            },
            viewer=viewer,
        )

    return await _page(request, handler, write=True)


@router.post("/customers/{customer_id}/upload")
async def upload(request: Request, customer_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await _form(request, viewer)
        customer = await _customer(api, customer_id)
        base = f"/v1/customers/{seg(customer_id)}"
        file = form.get("file")
        new_batch = str(form.get("new_batch") or "").strip()
        existing = str(form.get("batch") or "")
        batches = _ok(await api.call("GET", f"{base}/deviceBatches")).json()["items"]

        def again(problem: str | None, report: preflight.Report | None) -> Response:
            return render(
                request,
                "upload.html",
                {
                    "customer": customer,
                    "batches": batches,
                    "report": report,
                    "problem": problem,
                    "chosen": existing,
                    "new_batch": new_batch,
                },
                viewer=viewer,
                status=400,
            )

        if not isinstance(file, UploadFile) or not file.filename:
            return again("Choose a CSV or JSON file of devices.", None)
        if not new_batch and not existing:
            return again("Name a new batch, or choose an existing one.", None)
        data = await file.read()
        report = await run_in_threadpool(preflight.check, file.filename, data)
        if not report.sendable:  # nothing is sent
            return again(None, report)
        devices = [device.to_wire() for device in report.loaded.devices]
        if new_batch:
            answer = await api.call(
                "POST", f"{base}/deviceBatches", json={"batchId": new_batch, "devices": devices}
            )
        else:
            answer = await api.call(
                "POST", f"{base}/deviceBatches/{seg(existing)}/devices", json=devices
            )
        if not answer.ok:
            return again(f"The service refused the upload: {answer.description}", report)
        job_id = answer.headers["location"].rsplit("/", 1)[-1]
        data_dir = context_of(request).settings.data_dir
        await run_in_threadpool(
            uploads.remember, data_dir, job_id, file.filename, report.loaded, report.warnings
        )
        return RedirectResponse(f"/console/customers/{seg(customer_id)}/jobs/{job_id}", 303)

    return await _page(request, handler, write=True)


async def _job(api: Api, customer_id: str, job_id: str) -> dict[str, Any]:
    path = f"/v1/customers/{seg(customer_id)}/batchJobStatus/{seg(job_id)}"
    data: dict[str, Any] = _ok(await api.call("GET", path)).json()
    return data


def _progress(job: dict[str, Any]) -> dict[str, Any]:
    entries = job.get("devicesStatus") or []
    counts = Counter(entry.get("status", "unknown") for entry in entries)
    failed = sum(1 for e in entries if e.get("errorCode") or e.get("errorDescription"))
    done = counts["finished"] + counts["finished_with_errors"]
    return {
        "status": job.get("status", "unknown"),
        "total": len(entries),
        "queued": counts["queued"],
        "processing": counts["processing"],
        "done": done,
        "failed": failed,
        "percent": int(100 * done / len(entries)) if entries else 100,
        "finished": job.get("status") in ("finished", "finished_with_errors"),
    }


def _failure_groups(job: dict[str, Any], sent: uploads.SentUpload | None) -> list[dict[str, Any]]:
    entries = job.get("devicesStatus") or []
    aligned = sent is not None and len(sent.devices) == len(entries)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i, entry in enumerate(entries):
        if not (entry.get("errorCode") or entry.get("errorDescription")):
            continue
        key = (entry.get("errorCode") or "", entry.get("errorDescription") or "")
        where = sent.devices[i].where if aligned and sent else f"device {i + 1}"
        groups.setdefault(key, []).append({**entry, "where": where})
    return [
        {
            "code": code,
            "name": name,
            "remedy": remedy_of(code or None, name or None),
            "devices": members,
        }
        for (code, name), members in sorted(groups.items(), key=lambda g: -len(g[1]))
    ]


@router.get("/customers/{customer_id}/jobs/{job_id}")
async def job_page(request: Request, customer_id: str, job_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer = await _customer(api, customer_id)
        job = await _job(api, customer_id, job_id)
        sent = await run_in_threadpool(
            uploads.recall, context_of(request).settings.data_dir, job_id
        )
        return render(
            request,
            "job.html",
            {
                "customer": customer,
                "job": job,
                "job_id": job_id,
                "progress": _progress(job),
                "groups": _failure_groups(job, sent),
                "sent": sent,
            },
            viewer=viewer,
        )

    return await _page(request, handler)


@router.get("/customers/{customer_id}/jobs/{job_id}/progress")
async def job_progress(request: Request, customer_id: str, job_id: str) -> Response:
    """The live part of the job page, polled by htmx until the job is finished; then it
    also brings the failures."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        job = await _job(api, customer_id, job_id)
        progress = _progress(job)
        groups: list[dict[str, Any]] = []
        if progress["finished"]:
            sent = await run_in_threadpool(
                uploads.recall, context_of(request).settings.data_dir, job_id
            )
            groups = _failure_groups(job, sent)
        return render(
            request,
            "_progress.html",
            {
                "customer": {"id": customer_id},
                "job": job,
                "job_id": job_id,
                "progress": progress,
                "groups": groups,
            },
            viewer=viewer,
        )

    return await _page(request, handler)


@router.get("/customers/{customer_id}/jobs/{job_id}/failures.csv")
async def failures_csv(request: Request, customer_id: str, job_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        job = await _job(api, customer_id, job_id)
        sent = await run_in_threadpool(
            uploads.recall, context_of(request).settings.data_dir, job_id
        )
        entries = job.get("devicesStatus") or []
        aligned = sent is not None and len(sent.devices) == len(entries)
        rows = [
            (sent.devices[i] if aligned and sent else None, entry)
            for i, entry in enumerate(entries)
            if entry.get("errorCode") or entry.get("errorDescription")
        ]
        return Response(
            uploads.failed_rows_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="failed-{job_id}.csv"',
                "Cache-Control": "no-store",
            },
        )

    return await _page(request, handler)


# -- policies --------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/policies")
async def policies_page(request: Request, customer_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer = await _customer(api, customer_id)
        base = f"/v1/customers/{seg(customer_id)}"
        policies = _ok(await api.call("GET", f"{base}/policies")).json()["items"]
        return render(
            request,
            "policies.html",
            {"customer": customer, "policies": policies, "settings": POLICY_SETTINGS},
            viewer=viewer,
        )

    return await _page(request, handler)


POLICY_SETTINGS = tuple(m.value for m in PolicySettingsType if m is not PolicySettingsType.NONE)


@router.post("/customers/{customer_id}/policies")
async def save_policy(request: Request, customer_id: str) -> Response:
    """Create a policy, or (with ``id``) replace an existing one's name, description and
    settings; ``delete`` removes it."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await _form(request, viewer)
        base = f"/v1/customers/{seg(customer_id)}/policies"
        policy_id = str(form.get("id") or "")
        if policy_id and form.get("delete"):
            _ok(await api.call("DELETE", f"{base}/{seg(policy_id)}"))
        else:
            body = {
                "name": str(form.get("name") or ""),
                "description": str(form.get("description") or ""),
                "category": "o_o_b_e",
                "policySettings": [str(s) for s in form.getlist("settings")],
            }
            if policy_id:
                _ok(await api.call("PUT", f"{base}/{seg(policy_id)}", json=body))
            else:
                _ok(await api.call("POST", base, json=body))
        return RedirectResponse(f"/console/customers/{seg(customer_id)}/policies", 303)

    return await _page(request, handler, write=True)


@router.get("/{rest:path}")
async def unknown_page(request: Request, rest: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        return error_page(
            request, 404, "Not found", f"The console has no page at {request.url.path}.", viewer
        )

    return await _page(request, handler)
