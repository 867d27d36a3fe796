"""GET /metrics: Prometheus exposition, without a token (it names no tenant)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ztd.server.api.context import context_of
from ztd.server.observe.exposition import CONTENT_TYPE, QueueCollector, render
from ztd.server.observe.http import flush_answer_counts

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    # A plain function: the queue's figures are read from the database, on the thread pool.
    ctx = context_of(request)
    flush_answer_counts()  # the status fast lane's answers, counted in batches
    return Response(render(QueueCollector(ctx.db, ctx.clock)), media_type=CONTENT_TYPE)
