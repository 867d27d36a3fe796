"""E7: GET /v1/customers/{customer-id}/batchJobStatus/{batchtracking-id}.

The uncached side of the status reads: the same read rule as the fast lane
(``StatusReads.may_read``), then the database, then the cache is filled for the next polls.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ztd.server.api.context import context_of
from ztd.server.api.customer_scope import CustomerCall
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import JSON_TYPE
from ztd.server.api.security import authenticate
from ztd.server.auth.tokens import Principal
from ztd.server.emulator.status import held_document
from ztd.server.errors import Forbidden
from ztd.server.status_reads.cache import FinishedDocument
from ztd.server.status_reads.etag import etag_matches
from ztd.server.status_reads.keys import canonical_id

router = APIRouter()


def reading_status(
    request: Request, customer_id: str, principal: Principal = Depends(authenticate)
) -> CustomerCall:
    """401 without a valid token, 403 when the read rule refuses, 400 for a customer id
    that is no GUID; the tenancy check (404) follows in ``CustomerCall.read``."""
    ctx = context_of(request)
    customer = canonical_id(customer_id) or customer_id.lower()
    if not ctx.status_reads.may_read(principal, customer):
        raise Forbidden("The caller's role lacks the rights to read this resource.")
    return CustomerCall(request, ctx, principal, customer_guid(customer_id), fingerprint=None)


@router.get("/v1/customers/{customer_id}/batchJobStatus/{tracking_id}")
def get_batch_status(tracking_id: str, call: CustomerCall = Depends(reading_status)) -> Response:
    reads, cid, request = call.ctx.status_reads, call.customer_id, call.request
    generation = reads.generation  # before reading: see StatusReads.generation
    result = call.read(lambda conn: reads.read(conn, cid, tracking_id))
    reads.confirmed(call.principal.partner_id, cid, generation)
    if isinstance(result, FinishedDocument):
        held = held_document(request, canonical_id(tracking_id) or tracking_id)
        if held is not None:  # an emulator rule keeps it processing: not cached
            return Response(held, media_type=JSON_TYPE, headers={"Retry-After": "1"})
        reads.remember(cid, tracking_id, result, generation)
        headers = {"ETag": result.etag}
        if etag_matches(request.headers.get("if-none-match"), result.etag):
            return Response(status_code=304, headers=headers)
        return Response(result.body, media_type=JSON_TYPE, headers=headers)
    # Still running: tell pollers when to come back rather than letting them spin.
    return Response(result.body, media_type=JSON_TYPE, headers={"Retry-After": "1"})
