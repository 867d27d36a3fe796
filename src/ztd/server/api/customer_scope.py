"""A call acting for one customer: who calls, for which customer, and the two ways such a
call touches the database. Every /v1/customers/{customer-id}/... route starts here, so the
tenancy check (another partner's customer looks exactly like a missing one) cannot be
forgotten by a new route."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.context import AppContext, context_of
from ztd.server.api.idempotency import StoredResponse, run_write
from ztd.server.api.ids import customer_guid
from ztd.server.api.responses import job_location, json_response
from ztd.server.api.security import batch_creator, reader, writer
from ztd.server.auth.tokens import Principal
from ztd.server.errors import bad_request
from ztd.server.jobs.enqueue import EnqueuedJob, ItemSlices, JobItem, enqueue_job
from ztd.server.observe import logs
from ztd.server.services.tenancy import require_customer


@dataclass(frozen=True)
class CustomerCall:
    request: Request
    ctx: AppContext
    principal: Principal
    customer_id: str  # canonical (lower-case) GUID

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

        return run_write(self.ctx, self.request, self.principal.partner_id, body, checked)

    async def write_async(
        self, work: Callable[[Connection], StoredResponse], body: bytes = b""
    ) -> Response:
        return await run_in_threadpool(self.write, work, body)

    async def start_job(
        self,
        kind: str,
        items: Sequence[JobItem] | ItemSlices,
        body: bytes,
        batch_of: Callable[[Connection], int | None] = lambda _conn: None,
    ) -> Response:
        """Enqueue a job (with the batch ``batch_of`` finds or creates, in the same
        transaction) and answer 202 with the relative Location clients poll. On SQLite,
        items given as ItemSlices are worked out inside the transaction, overlapping their
        inserts, and not at all when an MS-RequestId retry gets the stored answer."""

        if isinstance(items, ItemSlices) and not self.ctx.db.is_sqlite:
            # PostgreSQL COPYs each slice as it comes, with nothing to overlap: work the items
            # out first, so that the transaction's locks (the MS-RequestId claim, a new
            # batch's name) are held only for the writes.
            slices = items.slices
            items = await run_in_threadpool(lambda: [item for part in slices for item in part])
        created: list[EnqueuedJob] = []

        def enqueue(conn: Connection) -> StoredResponse:
            job = enqueue_job(
                conn,
                kind=kind,
                partner_id=self.principal.partner_id,
                customer_id=self.customer_id,
                batch_pk=batch_of(conn),
                items=items,
                chunk_size=self.ctx.settings.chunk_size,
                now=self.ctx.clock(),
            )
            created.append(job)
            logs.bind(tracking_id=job.job_id)
            return StoredResponse(202, location=job_location(self.customer_id, job.job_id))

        def enqueue_and_wake() -> Response:
            response = self.write(enqueue, body)
            # Right after the commit, on this thread: the embedded worker starts now, not at
            # its next poll, and not after the event loop has come round to this request.
            self.ctx.wakeup.set()
            return response

        response = await run_in_threadpool(enqueue_and_wake)
        if created:  # (not when an MS-RequestId retry got the stored answer)
            # Clients poll at once: this process holds what their documents echo, so their
            # first poll need not read 10,000 items back.
            job = created[0]
            self.ctx.status_reads.seed_running(job.job_id, [item.echo for item in job.items])
        return response

    def check_device_count(self, count: int) -> None:
        limit = self.ctx.settings.max_devices_per_request
        if not count:
            raise bad_request("devices is empty: send at least one device.")
        if count > limit:
            raise bad_request(
                f"Too many devices in one request: {count}; the limit is {limit} "
                f"(ZTD_MAX_DEVICES_PER_REQUEST). Split the request into several."
            )


def _call(request: Request, customer_id: str, principal: Principal) -> CustomerCall:
    return CustomerCall(request, context_of(request), principal, customer_guid(customer_id))


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
