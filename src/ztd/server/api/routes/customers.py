"""Customers of the calling partner: GET /v1/customers (paged), GET/POST /v1/customers."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.bodies import parse_json, parse_model, read_body
from ztd.server.api.context import context_of
from ztd.server.api.idempotency import StoredResponse, run_write
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import json_response
from ztd.server.api.security import reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.errors import bad_request
from ztd.server.services import customers
from ztd.wire import Customer

router = APIRouter(prefix="/v1/customers")
MAX_PAGE = 500
MAX_TEXT = 256


@router.get("")
def list_customers(request: Request, principal: Principal = Depends(reader)) -> Response:
    ctx = context_of(request)
    size_text = request.query_params.get("size", "100")
    if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE:
        raise bad_request(f"size must be a whole number from 1 to {MAX_PAGE}.")
    token = request.headers.get("ms-continuationtoken")
    with ctx.db.read() as conn:
        page = customers.list_customers(conn, principal.partner_id, token, int(size_text))
    return json_response(page)


@router.get("/{customer_id}")
def get_customer(
    request: Request, customer_id: str, principal: Principal = Depends(reader)
) -> Response:
    ctx = context_of(request)
    with ctx.db.read() as conn:
        return json_response(
            customers.get_customer(conn, principal.partner_id, customer_guid(customer_id))
        )


@router.post("")
async def create_customer(request: Request, principal: Principal = Depends(writer)) -> Response:
    ctx = context_of(request)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    body = parse_model(Customer, parse_json(raw), what="Customer")
    company = body.company_profile
    billing = body.billing_profile
    domain = (company.domain if company else None) or None
    name = (billing.company_name if billing else None) or (
        company.company_name if company else None
    )
    if not name and not domain:
        raise bad_request("A customer needs billingProfile.companyName or companyProfile.domain.")
    for what, value in (("companyName", name), ("domain", domain)):
        if value and len(value) > MAX_TEXT:
            raise bad_request(f"{what} is {len(value)} characters; at most {MAX_TEXT}.")

    def create(conn: Connection) -> StoredResponse:
        document = customers.create_customer(
            conn, principal.partner_id, name or str(domain), domain, ctx.clock()
        )
        return StoredResponse(201, body=orjson.dumps(document))

    return await run_in_threadpool(run_write, ctx, request, principal.partner_id, raw, create)
