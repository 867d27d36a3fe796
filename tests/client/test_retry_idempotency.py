"""A 503 before a create: the SDK retries with the same MS-RequestId and exactly one job
exists afterwards, on both storage backends, sync and async."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.fake_time import FakeTime
from tests.support.faults import FailFirstCreate
from tests.support.sdk import devices
from tests.support.world import World
from ztd.client import PartnerClient, aio
from ztd.server.storage.database import Database
from ztd.server.storage.schema import batch_jobs, device_batches
from ztd.wire import DeviceUploadStatusType


def _one_job(db: Database) -> str:
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(device_batches)).scalar() == 1
        [job_id] = conn.execute(select(batch_jobs.c.id)).scalars().all()
    return str(job_id)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("after_app", [False, True], ids=["before-app", "answer-lost"])
def test_sync_create_retried_once_with_same_request_id(
    app: FastAPI, db: Database, world: World, fake_time: FakeTime, after_app: bool
) -> None:
    faulty = FailFirstCreate(app, after_app=after_app)
    with (
        TestClient(faulty) as http,
        PartnerClient(
            "http://testserver",
            token=world.token,
            http_client=http,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        ) as partner,
    ):
        poller = partner.customers.by_id(world.customer).device_batches.create(
            batch_id="retried", devices=devices(1, 2, 3)
        )
        assert len(faulty.request_ids) == 2
        assert faulty.request_ids[0] == faulty.request_ids[1]
        assert faulty.correlation_ids[0] == faulty.correlation_ids[1]
        assert fake_time.sleeps[:1] == [0.5]  # the first backoff step of the .NET policy
        assert _one_job(db) == poller.tracking_id
        details = poller.result(timeout=60)
    assert details.status is DeviceUploadStatusType.FINISHED
    assert len(details.devices_status) == 3


@pytest.mark.anyio
async def test_async_create_retried_after_lost_answer(
    app: FastAPI, db: Database, world: World, fake_time: FakeTime
) -> None:
    faulty = FailFirstCreate(app, after_app=True)
    async with aio.PartnerClient(
        "http://ztd.test",
        token=world.token,
        transport=httpx.ASGITransport(app=faulty),
        sleep=fake_time.async_sleep,
        clock=fake_time.clock,
    ) as partner:
        poller = await partner.customers.by_id(world.customer).device_batches.create(
            batch_id="retried", devices=devices(4)
        )
    assert len(faulty.request_ids) == 2 and len(set(faulty.request_ids)) == 1
    assert _one_job(db) == poller.tracking_id
