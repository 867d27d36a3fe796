"""E1 create a batch, E2 add devices, E3 list batches, E4 list devices, E5 delete a device."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.bodies import parse_json, read_body
from ztd.server.api.context import context_of
from ztd.server.api.device_input import parse_batch_id, parse_devices
from ztd.server.api.errors import bad_request
from ztd.server.api.idempotency import StoredResponse, run_write
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import job_location, json_response
from ztd.server.api.security import batch_creator, reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.services import catalog, uploads
from ztd.server.services.tenancy import require_customer

router = APIRouter(prefix="/v1/customers/{customer_id}/deviceBatches")


@router.post("")
async def create_batch(
    request: Request, customer_id: str, principal: Principal = Depends(batch_creator)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise bad_request("The body must be a DeviceBatchCreationRequest object.")
    fields = {str(k).lower(): v for k, v in data.items()}
    batch_id = parse_batch_id(fields.get("batchid"))
    devices = parse_devices(fields.get("devices", []))
    _check_device_count(devices, ctx.settings.max_devices_per_request)
    items = await run_in_threadpool(uploads.prepare_devices, devices)

    def enqueue(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        tracking_id = uploads.create_batch_and_enqueue(
            conn,
            partner_id=principal.partner_id,
            customer_id=cid,
            batch_id=batch_id,
            created_by=catalog.partner_name(conn, principal.partner_id),
            items=items,
            chunk_size=ctx.settings.chunk_size,
            now=ctx.clock(),
        )
        return StoredResponse(202, location=job_location(cid, tracking_id))

    response = await run_in_threadpool(run_write, ctx, request, principal.partner_id, raw, enqueue)
    ctx.wakeup.set()
    return response


@router.post("/{batch_id}/devices")
async def add_devices(
    request: Request, customer_id: str, batch_id: str, principal: Principal = Depends(writer)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    data = parse_json(raw)
    # The .NET SDK and the docs send a bare array; the REST reference wraps it in {devices}.
    if isinstance(data, dict):
        data = {k.lower(): v for k, v in data.items()}.get("devices")
    if not isinstance(data, list):
        raise bad_request('The body must be a JSON array of Device, or {"devices": [...]}.')
    devices = parse_devices(data, where="body")
    _check_device_count(devices, ctx.settings.max_devices_per_request)
    items = await run_in_threadpool(uploads.prepare_devices, devices)

    def enqueue(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        tracking_id = uploads.add_devices_and_enqueue(
            conn,
            partner_id=principal.partner_id,
            customer_id=cid,
            batch_id=batch_id,
            items=items,
            chunk_size=ctx.settings.chunk_size,
            now=ctx.clock(),
        )
        return StoredResponse(202, location=job_location(cid, tracking_id))

    response = await run_in_threadpool(run_write, ctx, request, principal.partner_id, raw, enqueue)
    ctx.wakeup.set()
    return response


@router.get("")
def list_batches(
    request: Request, customer_id: str, principal: Principal = Depends(reader)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    with ctx.db.read() as conn:
        require_customer(conn, principal.partner_id, cid)
        return json_response(catalog.list_batches(conn, cid))


@router.get("/{batch_id}/devices")
def list_devices(
    request: Request, customer_id: str, batch_id: str, principal: Principal = Depends(reader)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    token = request.headers.get("ms-continuationtoken") or request.query_params.get(
        "continuationToken"
    )
    with ctx.db.read() as conn:
        require_customer(conn, principal.partner_id, cid)
        page = catalog.list_devices(conn, cid, batch_id, token, ctx.settings.page_size)
    return json_response(page)


@router.delete("/{batch_id}/devices/{device_id}")
def delete_device(
    request: Request,
    customer_id: str,
    batch_id: str,
    device_id: str,
    principal: Principal = Depends(writer),
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)

    def remove(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        catalog.delete_device(conn, cid, batch_id, device_id)
        return StoredResponse(204)

    return run_write(ctx, request, principal.partner_id, b"", remove)


def _check_device_count(devices: list[Any], limit: int) -> None:
    if not devices:
        raise bad_request("devices is empty: send at least one device.")
    if len(devices) > limit:
        raise bad_request(
            f"Too many devices in one request: {len(devices)}; the limit is {limit} "
            f"(ZTD_MAX_DEVICES_PER_REQUEST). Split the upload into several requests."
        )
