"""``await poller.wait(via_events=True)``, the async twin of test_poller_via_events.py: the
async SDK against the real app in-process through httpx's ASGI transport, in real time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device
from tests.support.emulator import add_rule, operator_auth
from tests.support.sdk import devices
from tests.support.sdk_requests import REG, Sent, channels, finish_in
from tests.support.world import World
from ztd.client import PollingTimeoutError
from ztd.client._job_events import JOB_EVENTS
from ztd.client.aio import AsyncBatchUploadPoller, PartnerClient
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.wire import DeviceUploadStatusType

pytestmark = [pytest.mark.anyio, pytest.mark.timing]


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
async def live(app: FastAPI, world: World, sent: Sent) -> AsyncIterator[PartnerClient]:
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), event_hooks={"request": [sent.record_async]}
    )
    async with http, PartnerClient("http://ztd.test", token=world.token, http_client=http) as sdk:
        yield sdk


async def upload(partner: PartnerClient, world: World, name: str = "b") -> AsyncBatchUploadPoller:
    return await partner.customers.by_id(world.customer).device_batches.create(
        batch_id=name, devices=devices(1, 2)
    )


async def test_a_job_finished_before_the_wait_costs_one_status_read(
    live: PartnerClient, world: World, worker: Worker, db: Database, sent: Sent
) -> None:
    poller = await upload(live, world)
    worker.run_until_idle()
    sent.requests.clear()

    details = await poller.result(timeout=30, via_events=True)

    assert details.status is DeviceUploadStatusType.FINISHED
    assert sent.kinds() == ["POST registration", "GET status", "DELETE registration"]
    assert channels(db) == []


async def test_a_job_finishing_during_the_wait_costs_a_status_read_per_doubling_round(
    live: PartnerClient, world: World, worker: Worker, db: Database, sent: Sent
) -> None:
    poller = await upload(live, world)
    sent.requests.clear()
    seen: list[DeviceUploadStatusType] = []
    finish_in(2.0, worker.run_until_idle)
    started = time.monotonic()

    details = await poller.result(
        timeout=60, via_events=True, on_update=lambda d: seen.append(d.status)
    )

    assert time.monotonic() - started >= 2.0
    assert details.status is DeviceUploadStatusType.FINISHED and len(details.devices_status) == 2
    # Read at the start, after the first round (1 s), and on the event (at 2 s).
    assert sent.status_reads() == 3 and sent.long_polls() == 2
    queued, finished = DeviceUploadStatusType.QUEUED, DeviceUploadStatusType.FINISHED
    assert seen == [queued, queued, finished]
    assert channels(db) == []


async def test_the_timeout_raises_as_polling_does_and_removes_the_channel(
    live: PartnerClient, world: World, db: Database, sent: Sent
) -> None:
    poller = await upload(live, world)
    sent.requests.clear()
    started = time.monotonic()

    with pytest.raises(PollingTimeoutError) as caught:
        await poller.wait(timeout=1.5, via_events=True)

    assert 1.5 <= time.monotonic() - started < 5
    assert caught.value.last_status is not None
    assert caught.value.last_status.status is DeviceUploadStatusType.QUEUED
    assert sent.status_reads() == 3  # at the start, after a round of 1 s, at the deadline
    assert channels(db) == []


async def test_a_cancelled_wait_removes_its_channel(
    live: PartnerClient, world: World, db: Database
) -> None:
    poller = await upload(live, world)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):  # the caller's own deadline cancels the wait
            await poller.wait(via_events=True)

    assert channels(db) == []


async def test_another_partners_job_never_wakes_the_wait(
    live: PartnerClient, client: TestClient, world: World, worker: Worker, sent: Sent
) -> None:
    client.post(
        REG,
        json={"listen": True, "webhookEvents": list(JOB_EVENTS)},
        headers=world.auth(world.other_token),
    ).raise_for_status()
    create_batch(
        client, world.other_customer, world.auth(world.other_token), "theirs", [hash_device(7)]
    )
    poller = await upload(live, world)  # queued after theirs: run_once finishes theirs only
    sent.requests.clear()
    finish_in(0.5, worker.run_once)

    with pytest.raises(PollingTimeoutError):
        await poller.wait(timeout=2.0, via_events=True)

    assert sent.long_polls() == 2 and sent.status_reads() == 3


@pytest.mark.parametrize("before", [True, False])
async def test_a_held_status_ends_the_wait_when_the_hold_ends(
    live: PartnerClient,
    client: TestClient,
    world: World,
    settings: Settings,
    worker: Worker,
    sent: Sent,
    before: bool,
) -> None:
    """The sync twin's tryout: a 5 s `stayProcessing` hold made the wait last its timeout."""
    hold = 3.0
    op = operator_auth(settings, world)
    add_rule(client, op, {"serialNumber": "*"}, {"stayProcessing": {"seconds": hold}})
    poller = await upload(live, world)
    started = time.monotonic()
    if before:
        worker.run_until_idle()
    else:
        finish_in(0.3, worker.run_until_idle)
    sent.requests.clear()

    details = await poller.result(timeout=40, via_events=True)

    assert details.status is DeviceUploadStatusType.FINISHED
    assert hold <= time.monotonic() - started < hold + 3.0
    assert 2 <= sent.status_reads() <= 5
