"""Customers of the calling partner: GET /v1/customers (paged), GET/POST /v1/customers."""

from __future__ import annotations

import re

import orjson
from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.bodies import parse_model, read_json
from ztd.server.api.context import context_of
from ztd.server.api.idempotency import RequestFingerprint, run_write
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import json_response
from ztd.server.api.security import reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.errors import Forbidden, InvalidRequest, refuse_nul
from ztd.server.services import customers, tenancy
from ztd.server.services.idempotency import StoredResponse
from ztd.server.storage import widths
from ztd.wire import Customer

router = APIRouter(prefix="/v1/customers")
MAX_PAGE = 500
MAX_TEXT = widths.NAME


@router.get("")
def list_customers(request: Request, principal: Principal = Depends(reader)) -> Response:
    ctx = context_of(request)
    size_text = request.query_params.get("size", "100")
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,4}", size_text) or not 1 <= int(size_text) <= MAX_PAGE:
        raise InvalidRequest(f"size must be a whole number from 1 to {MAX_PAGE}.")
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


@router.get("/{customer_id}/profiles/company")
def get_company_profile(
    request: Request, customer_id: str, principal: Principal = Depends(reader)
) -> Response:
    """The customer's companyProfile (its links.self)."""
    ctx = context_of(request)
    with ctx.db.read() as conn:
        customer = customers.get_customer(conn, principal.partner_id, customer_guid(customer_id))
    return json_response(customer["companyProfile"])


@router.post("")
async def create_customer(request: Request, principal: Principal = Depends(writer)) -> Response:
    ctx = context_of(request)
    fingerprint = RequestFingerprint.wanted(request)
    raw, body = await read_json(
        request,
        ctx.settings.max_body_bytes,
        lambda data: parse_model(Customer, data, what="Customer"),
        fingerprint=fingerprint,
    )
    company = body.company_profile
    billing = body.billing_profile
    # Blank counts as absent, as for every identifier: a name of spaces is no name.
    domain = _text(company.domain if company else None)
    name = _text(billing.company_name if billing else None) or _text(
        company.company_name if company else None
    )
    if not name and not domain:
        raise InvalidRequest(
            "A customer needs billingProfile.companyName or companyProfile.domain."
        )
    for what, value in (("companyName", name), ("domain", domain)):
        if value and len(value) > MAX_TEXT:
            raise InvalidRequest(f"{what} is {len(value)} characters; at most {MAX_TEXT}.")
        refuse_nul(value, what)
    problem = tenancy.name_problem(name) if name else None
    if problem is not None:
        raise InvalidRequest(f"companyName: a name {problem}.")

    def create(conn: Connection) -> StoredResponse:
        try:
            document = customers.create_customer(
                conn, principal.partner_id, name or str(domain), domain, ctx.clock()
            )
        except LookupError as exc:  # a trusted external issuer's tenant nobody registered
            raise Forbidden(
                f"Partner tenant {principal.partner_id} is not registered with this service; "
                "an operator adds it with `ztd admin partner add`."
            ) from exc
        return StoredResponse(201, body=orjson.dumps(document))

    return await run_in_threadpool(
        run_write, ctx, request, principal.partner_id, raw, create, fingerprint
    )


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None
