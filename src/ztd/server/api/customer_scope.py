"""A call acting for one customer: who calls, for which customer, and the two ways such a
call touches the database (a read, an idempotent write). Every
/v1/customers/{customer-id}/... route starts here, so the tenancy check (another partner's
customer looks exactly like a missing one) cannot be forgotten by a new route. Jobs are
submitted through api/job_requests.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.context import AppContext, context_of
from ztd.server.api.idempotency import RequestFingerprint, run_write
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import json_response
from ztd.server.api.security import batch_creator, reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.services.idempotency import StoredResponse
from ztd.server.services.tenancy import require_customer


@dataclass(frozen=True)
class CustomerCall:
    request: Request
    ctx: AppContext
    principal: Principal
    customer_id: str  # canonical (lower-case) GUID
    # What the request means, for MS-RequestId; None without one. Routes that read a JSON
    # body hand it to read_json, which starts it on the parsed document.
    fingerprint: RequestFingerprint | None

    def read(self, query: Callable[[Connection], Any]) -> Any:
        """Run ``query`` in a read transaction after the tenancy check; returns its result."""
        with self.ctx.db.read() as conn:
            require_customer(conn, self.principal.partner_id, self.customer_id)
            return query(conn)

    def read_json(self, query: Callable[[Connection], Any]) -> Response:
        return json_response(self.read(query))

    def write(self, work: Callable[[Connection], StoredResponse], body: bytes = b"") -> Response:
        """Run ``work`` in one write transaction after the tenancy check, idempotently when
        the request carries an MS-RequestId."""

        def checked(conn: Connection) -> StoredResponse:
            require_customer(conn, self.principal.partner_id, self.customer_id)
            return work(conn)

        partner_id = self.principal.partner_id
        return run_write(self.ctx, self.request, partner_id, body, checked, self.fingerprint)

    async def write_async(
        self, work: Callable[[Connection], StoredResponse], body: bytes = b""
    ) -> Response:
        return await run_in_threadpool(self.write, work, body)


def _call(request: Request, customer_id: str, principal: Principal) -> CustomerCall:
    return CustomerCall(
        request,
        context_of(request),
        principal,
        customer_guid(customer_id),
        RequestFingerprint.wanted(request),
    )


def reading(
    request: Request, customer_id: str, principal: Principal = Depends(reader)
) -> CustomerCall:
    return _call(request, customer_id, principal)


def writing(
    request: Request, customer_id: str, principal: Principal = Depends(writer)
) -> CustomerCall:
    return _call(request, customer_id, principal)


def creating_batch(
    request: Request, customer_id: str, principal: Principal = Depends(batch_creator)
) -> CustomerCall:
    return _call(request, customer_id, principal)
