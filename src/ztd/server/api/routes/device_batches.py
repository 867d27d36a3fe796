"""E1 create a batch, E2 add devices, E3 list batches, E4 list devices, E5 delete a device,
and one device (GET; PUT or PATCH: IDevice.Patch)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends
from sqlalchemy import Connection
from starlette.responses import Response

from ztd.server.api.bodies import read_json
from ztd.server.api.customer_scope import CustomerCall, creating_batch, reading, writing
from ztd.server.api.device_input import (
    UploadedDevice,
    check_device_count,
    parse_batch_id,
    parse_device_change,
    parse_devices,
)
from ztd.server.api.job_requests import accept_job
from ztd.server.errors import DeviceRefused, InvalidRequest, shown
from ztd.server.services import catalog
from ztd.server.services.device_search import DeviceFilter
from ztd.server.services.idempotency import StoredResponse
from ztd.server.services.policy_updates import policy_error, policy_owners
from ztd.server.services.uploads import ExistingBatch, NewBatch, UploadIntake
from ztd.server.storage.ids import maybe_guid

router = APIRouter(prefix="/v1/customers/{customer_id}/deviceBatches")


@router.post("")
async def create_batch(call: CustomerCall = Depends(creating_batch)) -> Response:
    def check(data: Any) -> UploadIntake:
        if not isinstance(data, dict):
            raise InvalidRequest("The body must be a DeviceBatchCreationRequest object.")
        fields = {str(k).lower(): v for k, v in data.items()}
        batch_id = parse_batch_id(fields.get("batchid"))
        target = NewBatch(batch_id, call.principal.partner_id)
        return _intake(call, target, parse_devices(fields.get("devices", [])))

    raw, intake = await read_json(
        call.request, call.ctx.settings.max_body_bytes, check, fingerprint=call.fingerprint
    )
    return await accept_job(call, intake, raw)


@router.post("/{batch_id}/devices")
async def add_devices(batch_id: str, call: CustomerCall = Depends(writing)) -> Response:
    def check(data: Any) -> UploadIntake:
        # The .NET SDK and the docs send a bare array; the REST reference wraps it in {devices}.
        if isinstance(data, dict):
            data = {k.lower(): v for k, v in data.items()}.get("devices")
        if not isinstance(data, list):
            raise InvalidRequest('The body must be a JSON array of Device, or {"devices": [...]}.')
        return _intake(call, ExistingBatch(batch_id), parse_devices(data, where="body"))

    raw, intake = await read_json(
        call.request, call.ctx.settings.max_body_bytes, check, fingerprint=call.fingerprint
    )
    return await accept_job(call, intake, raw)


@router.get("")
def list_batches(call: CustomerCall = Depends(reading)) -> Response:
    return call.read_json(lambda conn: catalog.list_batches(conn, call.customer_id))


@router.get("/{batch_id}")
def get_batch(batch_id: str, call: CustomerCall = Depends(reading)) -> Response:
    return call.read_json(lambda conn: catalog.get_batch(conn, call.customer_id, batch_id))


@router.get("/{batch_id}/devices")
def list_devices(batch_id: str, call: CustomerCall = Depends(reading)) -> Response:
    headers, query = call.request.headers, call.request.query_params
    token = headers.get("ms-continuationtoken") or query.get("continuationToken")
    page_size = call.ctx.settings.page_size
    with_hash = _include_hash(call)
    # ztd extension: ?search= and ?policy= filter the list in the database (the console's
    # search); the continuation token then pages through the matches.
    only = DeviceFilter.parse(query.get("search"), query.get("policy"))
    return call.read_json(
        lambda conn: catalog.list_devices(
            conn, call.customer_id, batch_id, token, page_size, with_hash=with_hash, only=only
        )
    )


@router.get("/{batch_id}/devices/{device_id}")
def get_device(batch_id: str, device_id: str, call: CustomerCall = Depends(reading)) -> Response:
    return call.read_json(
        lambda conn: catalog.get_device(conn, call.customer_id, batch_id, device_id)
    )


@router.put("/{batch_id}/devices/{device_id}")
@router.patch("/{batch_id}/devices/{device_id}")
async def update_device(
    batch_id: str, device_id: str, call: CustomerCall = Depends(writing)
) -> Response:
    """The SDK's IDevice.Patch (an HTTP PUT of the whole Device): what a partner may change
    on a device is its policy; the rest of the body (its identifiers, echoed back) is
    ignored. Answers 200 with the device as it now is."""
    raw, change = await read_json(
        call.request,
        call.ctx.settings.max_body_bytes,
        parse_device_change,
        fingerprint=call.fingerprint,
    )

    def update(conn: Connection) -> StoredResponse:
        if change.sets_policy:
            policy_id = maybe_guid(change.policy_ref) if change.policy_ref else None
            if change.policy_ref:
                error = policy_error(
                    policy_owners(conn, [policy_id] if policy_id else []),
                    policy_id,
                    call.customer_id,
                )
                if error is not None:
                    raise DeviceRefused(
                        error,
                        f"policies: policy {shown(change.policy_ref)} cannot be assigned "
                        f"({error.code} {error.name}): {error.remedy}",
                    )
            catalog.set_device_policy(conn, call.customer_id, batch_id, device_id, policy_id)
        document = catalog.get_device(conn, call.customer_id, batch_id, device_id)
        return StoredResponse(200, body=orjson.dumps(document))

    return await call.write_async(update, raw)


@router.delete("/{batch_id}/devices/{device_id}")
def delete_device(batch_id: str, device_id: str, call: CustomerCall = Depends(writing)) -> Response:
    def remove(conn: Connection) -> StoredResponse:
        catalog.delete_device(conn, call.customer_id, batch_id, device_id)
        return StoredResponse(204)

    return call.write(remove)


def _include_hash(call: CustomerCall) -> bool:
    """``includeHardwareHash=true``: lists leave hashes out (about 4 KB a device)."""
    value = call.request.query_params.get("includeHardwareHash")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise InvalidRequest(f"includeHardwareHash must be true or false, not {value!r}.")
    return value.lower() == "true"


def _intake(
    call: CustomerCall, target: NewBatch | ExistingBatch, devices: list[UploadedDevice]
) -> UploadIntake:
    check_device_count(len(devices), call.ctx.settings.max_devices_per_request)
    return UploadIntake(call.customer_id, target, devices)
