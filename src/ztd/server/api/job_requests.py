"""Answering a request that submits a job (uploads, policy updates): the hop off the event
loop, jobs/submit.py, the workers' wake-up, and the 202 with the Location clients poll."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ztd.server.api.customer_scope import CustomerCall
from ztd.server.api.idempotency import request_key, respond, retention
from ztd.server.api.responses import job_location
from ztd.server.jobs.submit import Intake, Submitted, submit_job
from ztd.server.observe import logs


async def accept_job(call: CustomerCall, intake: Intake, body: bytes) -> Response:
    """Submit ``intake``'s job for the call's customer (``body``: the raw request, for its
    MS-RequestId fingerprint) and answer 202, or the stored answer of an identical retry."""
    submitted = await run_in_threadpool(_submit_and_wake, call, intake, body)
    job = submitted.job
    if job is not None:
        logs.bind(tracking_id=job.job_id)
        # Clients poll at once: this process holds what their documents echo, so their
        # first poll need not read 10,000 items back.
        call.ctx.status_reads.seed_running(job.job_id, [i.echo for i in job.items])
    return respond(submitted.answer)


def _submit_and_wake(call: CustomerCall, intake: Intake, body: bytes) -> Submitted:
    ctx, partner_id = call.ctx, call.principal.partner_id
    submitted = submit_job(
        ctx.db,
        intake,
        partner_id=partner_id,
        customer_id=call.customer_id,
        key=request_key(call.request, partner_id, call.fingerprint, body),
        retention=retention(ctx),
        chunk_size=ctx.settings.chunk_size,
        now=ctx.clock(),
        location=job_location,
    )
    # Right after the commit, on this thread: the embedded worker starts now, not at its
    # next poll, and not after the event loop has come round to this request.
    ctx.wakeup.set()
    return submitted
