"""E7: GET /v1/customers/{customer-id}/batchJobStatus/{batchtracking-id}."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from ztd.server.api.customer_scope import CustomerCall, reading
from ztd.server.api.responses import JSON_TYPE
from ztd.server.api.status_cache import FinishedDocument
from ztd.server.emulator.status import held_document
from ztd.server.services import status
from ztd.server.storage.ids import maybe_guid

router = APIRouter()


@router.get("/v1/customers/{customer_id}/batchJobStatus/{tracking_id}")
def get_batch_status(tracking_id: str, call: CustomerCall = Depends(reading)) -> Response:
    ctx, cid, request = call.ctx, call.customer_id, call.request
    result = call.read(lambda conn: status.read_status(conn, cid, tracking_id, ctx.status_cache))
    ctx.status_cache.remember_relationship(call.principal.partner_id, cid)
    if isinstance(result, FinishedDocument) and (
        held := held_document(request, result_id(tracking_id))
    ):
        return Response(held, media_type=JSON_TYPE, headers={"Retry-After": "1"})
    if isinstance(result, FinishedDocument):
        ctx.status_cache.remember_document(cid, result_id(tracking_id), result)
        headers = {"ETag": result.etag}
        if request.headers.get("if-none-match") == result.etag:
            return Response(status_code=304, headers=headers)
        return Response(result.body, media_type=JSON_TYPE, headers=headers)
    # Still running: tell pollers when to come back rather than letting them spin.
    return Response(result.body, media_type=JSON_TYPE, headers={"Retry-After": "1"})


def result_id(tracking_id: str) -> str:
    # Cache under the canonical spelling the fast path looks up.
    return maybe_guid(tracking_id) or tracking_id
