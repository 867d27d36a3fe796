"""Uploading a file (with the pre-flight report before anything is sent), and the job page:
live progress, the failures grouped by code with their CSV lines, and their export."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from ztd.identity.dds import remedy_of
from ztd.server.api.context import context_of
from ztd.server.console import preflight, store_reads, uploads
from ztd.server.console.api_calls import Api, seg
from ztd.server.console.customer_pages import customer_of, customer_with
from ztd.server.console.guard import form_of, ok, page
from ztd.server.console.pages import Viewer, render

router = APIRouter()
FAILED_ROWS_SHOWN = 200  # a group's table; the export has them all
PURGE_EVERY_SECONDS = 600.0  # the upload files, swept from a job page at most this often
_last_purge = 0.0


@router.get("/customers/{customer_id}/upload")
async def upload_form(request: Request, customer_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer, batches = await customer_with(api, customer_id, "deviceBatches")
        chosen = request.query_params.get("batch", "")
        context = {"customer": customer, "batches": batches, "report": None, "chosen": chosen}
        return render(request, "upload.html", context, viewer=viewer)

    return await page(request, handler, write=True)


@router.post("/customers/{customer_id}/upload")
async def upload(request: Request, customer_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        customer, batches = await customer_with(api, customer_id, "deviceBatches")
        base = f"/v1/customers/{seg(customer_id)}"
        file = form.get("file")
        new_batch = str(form.get("new_batch") or "").strip()
        existing = str(form.get("batch") or "")

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
        await _purge_uploads(request, force=True)
        return RedirectResponse(f"/console/customers/{seg(customer_id)}/jobs/{seg(job_id)}", 303)

    return await page(request, handler, write=True)


async def _purge_uploads(request: Request, *, force: bool = False) -> None:
    """Sweep the upload files: after each upload (they grow only then), and now and then
    from a job page so that they also expire on a server nobody uploads to."""
    global _last_purge
    if not force and time.monotonic() - _last_purge < PURGE_EVERY_SECONDS:
        return
    _last_purge = time.monotonic()
    ctx = context_of(request)
    await run_in_threadpool(
        uploads.purge, ctx.settings.data_dir, lambda ids: store_reads.jobs_stored(ctx.db, ids)
    )


async def _job(api: Api, customer_id: str, job_id: str) -> dict[str, Any]:
    """The job's status document; another partner's raises the API's 404 (ApiProblem)."""
    path = f"/v1/customers/{seg(customer_id)}/batchJobStatus/{seg(job_id)}"
    job: dict[str, Any] = ok(await api.call("GET", path)).json()
    return job


async def _sent(request: Request, job_id: str) -> uploads.SentUpload | None:
    """What the console remembers of the job's file; read only after the API showed the
    viewer the job (the file is the partner's)."""
    return await run_in_threadpool(uploads.recall, context_of(request).settings.data_dir, job_id)


def _failed(entry: dict[str, Any]) -> bool:
    return bool(entry.get("errorCode") or entry.get("errorDescription"))


def _progress(job: dict[str, Any]) -> dict[str, Any]:
    entries = job.get("devicesStatus") or []
    counts = Counter(entry.get("status", "unknown") for entry in entries)
    done = counts["finished"] + counts["finished_with_errors"]
    return {
        "status": job.get("status", "unknown"),
        "total": len(entries),
        "queued": counts["queued"],
        "processing": counts["processing"],
        "done": done,
        "failed": sum(1 for entry in entries if _failed(entry)),
        "percent": int(100 * done / len(entries)) if entries else 100,
        "finished": job.get("status") in ("finished", "finished_with_errors"),
    }


def _failures(
    job: dict[str, Any], sent: uploads.SentUpload | None
) -> list[tuple[uploads.SentDevice | None, dict[str, Any]]]:
    """Each failed device entry, with what the file said at its line when known."""
    entries = job.get("devicesStatus") or []
    aligned = sent is not None and len(sent.devices) == len(entries)
    return [
        (sent.devices[i] if aligned and sent else None, entry)
        for i, entry in enumerate(entries)
        if _failed(entry)
    ]


def _failure_groups(job: dict[str, Any], sent: uploads.SentUpload | None) -> list[dict[str, Any]]:
    entries = job.get("devicesStatus") or []
    position = {id(entry): i for i, entry in enumerate(entries)}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for device, entry in _failures(job, sent):
        key = (entry.get("errorCode") or "", entry.get("errorDescription") or "")
        where = device.where if device else f"device {position[id(entry)] + 1}"
        groups.setdefault(key, []).append({**entry, "where": where})
    return [
        {
            "code": code,
            "name": name,
            "remedy": remedy_of(code or None, name or None),
            "devices": members,
            "shown": members[:FAILED_ROWS_SHOWN],
        }
        for (code, name), members in sorted(groups.items(), key=lambda g: -len(g[1]))
    ]


@router.get("/customers/{customer_id}/jobs/{job_id}")
async def job_page(request: Request, customer_id: str, job_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer = await customer_of(api, customer_id)
        job = await _job(api, customer_id, job_id)
        sent = await _sent(request, job_id)
        await _purge_uploads(request)
        context = {
            "customer": customer,
            "job": job,
            "job_id": job_id,
            "progress": _progress(job),
            "groups": _failure_groups(job, sent),
            "sent": sent,
        }
        return render(request, "job.html", context, viewer=viewer)

    return await page(request, handler)


@router.get("/customers/{customer_id}/jobs/{job_id}/progress")
async def job_progress(request: Request, customer_id: str, job_id: str) -> Response:
    """The live part of the job page, polled by htmx until the job is finished; then it
    also brings the failures."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        job = await _job(api, customer_id, job_id)
        progress = _progress(job)
        groups: list[dict[str, Any]] = []
        if progress["finished"]:  # the last answer brings the failures, with their lines
            groups = _failure_groups(job, await _sent(request, job_id))
        context = {
            "customer": {"id": customer_id},
            "job": job,
            "job_id": job_id,
            "progress": progress,
            "groups": groups,
        }
        return render(request, "_progress.html", context, viewer=viewer)

    return await page(request, handler)


@router.get("/customers/{customer_id}/jobs/{job_id}/failures.csv")
async def failures_csv(request: Request, customer_id: str, job_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        job = await _job(api, customer_id, job_id)
        return Response(
            uploads.failed_rows_csv(_failures(job, await _sent(request, job_id))),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="failed-{job_id}.csv"',
                "Cache-Control": "no-store",
            },
        )

    return await page(request, handler)
