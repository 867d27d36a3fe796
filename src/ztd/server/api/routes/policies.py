"""E8-E12 configuration policies, and E6 DevicePolicyUpdates (a job, like uploads)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends
from sqlalchemy import Connection
from starlette.responses import Response

from ztd.server.api.bodies import parse_model, read_json
from ztd.server.api.customer_scope import CustomerCall, reading, writing
from ztd.server.api.device_input import check_device_count
from ztd.server.api.job_requests import accept_job
from ztd.server.errors import InvalidRequest, refuse_nul
from ztd.server.jobs.submit import ReadyItems
from ztd.server.services import policies
from ztd.server.services.idempotency import StoredResponse
from ztd.server.services.policy_updates import prepare_policy_items
from ztd.server.storage import widths
from ztd.wire import DevicePolicyUpdateRequest

router = APIRouter(prefix="/v1/customers/{customer_id}")
MAX_NAME = widths.NAME


@router.get("/policies")
def list_policies(call: CustomerCall = Depends(reading)) -> Response:
    return call.read_json(lambda conn: policies.list_policies(conn, call.customer_id))


@router.get("/policies/{policy_id}")
def get_policy(policy_id: str, call: CustomerCall = Depends(reading)) -> Response:
    return call.read_json(lambda conn: policies.get_policy(conn, call.customer_id, policy_id))


@router.post("/policies")
async def create_policy(call: CustomerCall = Depends(writing)) -> Response:
    raw, policy = await read_json(
        call.request, call.ctx.settings.max_body_bytes, _new_policy, fingerprint=call.fingerprint
    )

    def create(conn: Connection) -> StoredResponse:
        document = policies.create_policy(conn, call.customer_id, now=call.ctx.clock(), **policy)
        return StoredResponse(200, body=orjson.dumps(document))  # 200, not 201, as documented

    return await call.write_async(create, raw)


@router.put("/policies/{policy_id}")
async def replace_policy(policy_id: str, call: CustomerCall = Depends(writing)) -> Response:
    raw, policy = await read_json(
        call.request,
        call.ctx.settings.max_body_bytes,
        lambda data: _editable(_policy_fields(data)),
        fingerprint=call.fingerprint,
    )

    def replace(conn: Connection) -> StoredResponse:
        document = policies.replace_policy(
            conn, call.customer_id, policy_id, now=call.ctx.clock(), **policy
        )
        return StoredResponse(200, body=orjson.dumps(document))

    return await call.write_async(replace, raw)


@router.delete("/policies/{policy_id}")
def delete_policy(policy_id: str, call: CustomerCall = Depends(writing)) -> Response:
    def remove(conn: Connection) -> StoredResponse:
        policies.delete_policy(conn, call.customer_id, policy_id)
        return StoredResponse(204)

    return call.write(remove)


@router.patch("/DevicePolicyUpdates")
async def update_device_policies(call: CustomerCall = Depends(writing)) -> Response:
    def check(data: Any) -> ReadyItems:
        if not isinstance(data, dict):
            raise InvalidRequest("The body must be a DevicePolicyUpdateRequest object.")
        body = parse_model(DevicePolicyUpdateRequest, data, what="DevicePolicyUpdateRequest")
        check_device_count(len(body.devices), call.ctx.settings.max_devices_per_request)
        return ReadyItems("policy_update", prepare_policy_items(body.devices))

    raw, intake = await read_json(
        call.request, call.ctx.settings.max_body_bytes, check, fingerprint=call.fingerprint
    )
    return await accept_job(call, intake, raw)


def _policy_fields(data: Any) -> dict[str, Any]:
    """The policy's properties by lower-cased name (requests are PascalCase or camelCase)."""
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a ConfigurationPolicy object.")
    return {str(k).lower().replace("_", ""): v for k, v in data.items() if v is not None}


def _new_policy(data: Any) -> dict[str, Any]:
    fields = _policy_fields(data)
    return {"category": policies.parse_category(fields.get("category")), **_editable(fields)}


def _editable(fields: dict[str, Any]) -> dict[str, Any]:
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("name is required: give the policy a non-empty name.")
    if len(name.strip()) > MAX_NAME:
        raise InvalidRequest(f"name is {len(name.strip())} characters; at most {MAX_NAME}.")
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("description must be a string.")
    for what, value in (("name", name), ("description", description)):
        refuse_nul(value, what)
    return {
        "name": name.strip(),
        "description": description or None,  # "" clears it; omitted rather than sent empty
        "settings": policies.parse_settings(fields.get("policysettings")),
    }
