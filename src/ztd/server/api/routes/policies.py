"""E8-E12 configuration policies, and E6 DevicePolicyUpdates (a job, like uploads)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.bodies import parse_json, parse_model, read_body
from ztd.server.api.context import context_of
from ztd.server.api.errors import bad_request
from ztd.server.api.idempotency import StoredResponse, run_write
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import job_location, json_response
from ztd.server.api.security import reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.jobs.enqueue import enqueue_job
from ztd.server.services import policies
from ztd.server.services.policy_updates import prepare_policy_items
from ztd.server.services.tenancy import require_customer
from ztd.wire import DevicePolicyUpdateRequest

router = APIRouter(prefix="/v1/customers/{customer_id}")


@router.get("/policies")
def list_policies(
    request: Request, customer_id: str, principal: Principal = Depends(reader)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    with ctx.db.read() as conn:
        require_customer(conn, principal.partner_id, cid)
        return json_response(policies.list_policies(conn, cid))


@router.get("/policies/{policy_id}")
def get_policy(
    request: Request, customer_id: str, policy_id: str, principal: Principal = Depends(reader)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    with ctx.db.read() as conn:
        require_customer(conn, principal.partner_id, cid)
        return json_response(policies.get_policy(conn, cid, policy_id))


@router.post("/policies")
async def create_policy(
    request: Request, customer_id: str, principal: Principal = Depends(writer)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    fields = _policy_fields(parse_json(raw))
    category = policies.parse_category(fields.get("category"))

    def create(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        document = policies.create_policy(
            conn, cid, category=category, now=ctx.clock(), **_editable(fields)
        )
        return StoredResponse(200, body=orjson.dumps(document))  # 200, not 201, as documented

    return await run_in_threadpool(run_write, ctx, request, principal.partner_id, raw, create)


@router.put("/policies/{policy_id}")
async def replace_policy(
    request: Request, customer_id: str, policy_id: str, principal: Principal = Depends(writer)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    fields = _policy_fields(parse_json(raw))

    def replace(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        document = policies.replace_policy(
            conn, cid, policy_id, now=ctx.clock(), **_editable(fields)
        )
        return StoredResponse(200, body=orjson.dumps(document))

    return await run_in_threadpool(run_write, ctx, request, principal.partner_id, raw, replace)


@router.delete("/policies/{policy_id}")
def delete_policy(
    request: Request, customer_id: str, policy_id: str, principal: Principal = Depends(writer)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)

    def remove(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        policies.delete_policy(conn, cid, policy_id)
        return StoredResponse(204)

    return run_write(ctx, request, principal.partner_id, b"", remove)


@router.patch("/DevicePolicyUpdates")
async def update_device_policies(
    request: Request, customer_id: str, principal: Principal = Depends(writer)
) -> Response:
    ctx = context_of(request)
    cid = customer_guid(customer_id)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise bad_request("The body must be a DevicePolicyUpdateRequest object.")
    body = parse_model(DevicePolicyUpdateRequest, data, what="DevicePolicyUpdateRequest")
    if not body.devices:
        raise bad_request("devices is empty: send at least one device with its policies.")
    if len(body.devices) > ctx.settings.max_devices_per_request:
        raise bad_request(
            f"Too many devices in one request: {len(body.devices)}; the limit is "
            f"{ctx.settings.max_devices_per_request} (ZTD_MAX_DEVICES_PER_REQUEST)."
        )
    items = prepare_policy_items(body.devices)

    def enqueue(conn: Connection) -> StoredResponse:
        require_customer(conn, principal.partner_id, cid)
        tracking_id = enqueue_job(
            conn,
            kind="policy_update",
            partner_id=principal.partner_id,
            customer_id=cid,
            batch_pk=None,
            items=items,
            chunk_size=ctx.settings.chunk_size,
            now=ctx.clock(),
        )
        return StoredResponse(202, location=job_location(cid, tracking_id))

    response = await run_in_threadpool(run_write, ctx, request, principal.partner_id, raw, enqueue)
    ctx.wakeup.set()
    return response


def _policy_fields(data: Any) -> dict[str, Any]:
    """The policy's properties by lower-cased name (requests are PascalCase or camelCase)."""
    if not isinstance(data, dict):
        raise bad_request("The body must be a ConfigurationPolicy object.")
    return {str(k).lower().replace("_", ""): v for k, v in data.items() if v is not None}


def _editable(fields: dict[str, Any]) -> dict[str, Any]:
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required: give the policy a non-empty name.")
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        raise bad_request("description must be a string.")
    return {
        "name": name.strip(),
        "description": description or None,  # "" clears it; omitted rather than sent empty
        "settings": policies.parse_settings(fields.get("policysettings")),
    }
