"""The SDK's delivery-log reads (``partner.webhooks``), sync and async, against the real app
in-process: three test events to a real local receiver, the first failed for good, read
back a page at a time."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.webhooks import Log, three_test_events
from tests.support.world import World
from ztd.client import NotFoundError, PartnerClient
from ztd.client import aio as client_aio
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.wire import WebhookDelivery

REG = "/webhooks/v1/registration"


@pytest.fixture
def log(client: TestClient, db: Database, settings: Settings, world: World) -> Iterator[Log]:
    with three_test_events(client, db, settings, world) as made:
        yield made


def test_a_registrations_deliveries_page_by_page(partner: PartnerClient, log: Log) -> None:
    deliveries = partner.webhooks.registrations.by_id(log.registration["id"]).deliveries
    pages = list(deliveries.pages(page_size=2))
    assert [len(p.items) for p in pages] == [2, 1]
    assert pages[0].total_count == 3 and pages[0].continuation_token
    assert pages[1].continuation_token is None
    # A later read resumes from a page's token.
    (resumed,) = deliveries.pages(pages[0].continuation_token, page_size=2)
    assert [d.event_id for d in resumed.items] == log.sent[:1]

    every = list(deliveries.list())
    assert [d.event_id for d in every] == log.sent[::-1]
    oldest = every[-1]
    assert isinstance(oldest, WebhookDelivery)
    assert oldest.type == "webhook.test" and oldest.created_time is not None
    assert oldest.status == "failed" and oldest.attempts == 1
    (attempt,) = oldest.attempt_log
    assert attempt.status_code == 500 and attempt.latency_ms >= 0
    assert attempt.registration_id == log.registration["id"]


def test_an_events_deliveries(partner: PartnerClient, log: Log) -> None:
    (delivery,) = partner.webhooks.events.by_id(log.sent[1]).deliveries.list()
    assert delivery.registration_id == log.registration["id"]
    assert delivery.status == "delivered" and delivery.delivered_time is not None
    assert [a.status_code for a in delivery.attempt_log] == [200]


def test_another_partners_log_is_not_found_and_bad_sizes_are_refused(
    client: TestClient, world: World, log: Log
) -> None:
    with PartnerClient("http://testserver", token=world.other_token, http_client=client) as sdk:
        with pytest.raises(NotFoundError):
            list(sdk.webhooks.registrations.by_id(log.registration["id"]).deliveries.list())
        with pytest.raises(NotFoundError):
            list(sdk.webhooks.events.by_id(log.sent[0]).deliveries.list())
        for bad in (0, 101, True):
            with pytest.raises(ValueError, match="page_size"):
                sdk.webhooks.events.by_id(log.sent[0]).deliveries.pages(page_size=bad)
        with pytest.raises(ValueError, match="registration_id"):
            sdk.webhooks.registrations.by_id(" ")


@pytest.mark.anyio
async def test_the_async_client_reads_the_same_log(app: FastAPI, world: World, log: Log) -> None:
    async with client_aio.PartnerClient(
        "http://ztd.test", token=world.token, transport=httpx.ASGITransport(app=app)
    ) as partner:
        deliveries = partner.webhooks.registrations.by_id(log.registration["id"]).deliveries
        pages = [page async for page in deliveries.pages(page_size=2)]
        every = [d async for d in deliveries.list(page_size=1)]
    assert [len(p.items) for p in pages] == [2, 1]
    assert [d.event_id for d in every] == log.sent[::-1]
