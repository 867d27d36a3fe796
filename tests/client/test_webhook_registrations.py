"""The SDK's webhook registration calls (``partner.webhooks``), sync and async, against the
real app in-process and a real local receiver: create, list, update, test, rotate, replay,
delete, and the errors each maps to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.receiver import Receiver
from tests.support.world import World
from ztd.client import (
    BadInputError,
    ConflictError,
    NotFoundError,
    PartnerClient,
)
from ztd.client import aio as client_aio
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks.delivery import Deliverer
from ztd.wire import WebhookRegistration

CREATED = "devicebatch.created"
COMPLETED = "devicebatch.job.completed"
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


def test_create_list_get_update_delete(
    partner: PartnerClient, hook: Receiver, loopback: Settings
) -> None:
    registrations = partner.webhooks.registrations
    made = registrations.create(hook.url, [CREATED])
    assert isinstance(made, WebhookRegistration)
    assert made.secret is not None and made.secret.startswith("whsec_")
    assert made.webhook_url == hook.url and made.webhook_events == [CREATED]
    assert made.status == "active" and not made.listen

    (listed,) = registrations.list()
    assert listed.id == made.id and listed.secret is None  # never shown again
    assert registrations.get().total_count == 1
    assert registrations.by_id(made.id).get() == listed

    other_url = hook.url + "/other"
    updated = registrations.by_id(made.id).update(other_url, [CREATED, COMPLETED])
    assert updated.webhook_url == other_url and updated.webhook_events == [CREATED, COMPLETED]
    assert updated.secret is None

    registrations.by_id(made.id).delete()
    with pytest.raises(NotFoundError):
        registrations.by_id(made.id).get()
    assert list(registrations.list()) == []
    assert COMPLETED in partner.webhooks.event_types()


def test_test_events_rotation_and_replays(
    partner: PartnerClient, hook: Receiver, loopback: Settings, db: Database
) -> None:
    registrations = partner.webhooks.registrations
    made = registrations.create(hook.url, [CREATED])
    one = registrations.by_id(made.id)
    hook.script = [410]  # the endpoint is gone: the registration is disabled at once
    first = one.send_test()
    assert Deliverer(db, loopback).deliver_due() == 1
    disabled = one.get()
    assert disabled.status == "disabled" and disabled.disabled_reason
    with pytest.raises(ConflictError, match="is disabled since"):
        one.replay(failed_since=AN_HOUR_AGO)
    with pytest.raises(ConflictError, match="then send the test event again"):
        one.send_test()
    with pytest.raises(ConflictError, match="No active webhook registration"):
        registrations.send_test()

    assert one.update(hook.url, [CREATED]).status == "active"  # re-enabled
    assert one.replay(failed_since=AN_HOUR_AGO) == 1
    assert Deliverer(db, loopback).deliver_due() == 1
    (again,) = registrations.send_test()
    assert partner.webhooks.events.by_id(first).replay() == 1
    assert Deliverer(db, loopback).deliver_due() == 2
    delivered = {d.event_id: d.status for d in one.deliveries.list()}
    assert delivered == {first: "delivered", again: "delivered"}

    rotated = one.rotate_secret(overlap_seconds=60)
    assert rotated.secret is not None and rotated.secret != made.secret
    assert rotated.previous_secret_expires_time is not None


def test_bad_arguments_are_refused_before_sending_and_bad_bodies_by_the_service(
    client: TestClient, partner: PartnerClient, hook: Receiver, loopback: Settings, world: World
) -> None:
    registrations = partner.webhooks.registrations
    with pytest.raises(ValueError, match="url must be a non-empty string"):
        registrations.create(" ", [CREATED])
    with pytest.raises(ValueError, match="not the string"):
        registrations.create(hook.url, CREATED)
    with pytest.raises(ValueError, match="at least one event type"):
        registrations.create(hook.url, [])
    with pytest.raises(BadInputError, match=r"webhookEvents\[0\]"):
        registrations.create(hook.url, ["no.such.event"])
    with pytest.raises(BadInputError, match="webhookUrl"):
        registrations.create("ftp://example.com/hook", [CREATED])

    made = registrations.create(hook.url, [CREATED])
    with pytest.raises(ValueError, match="overlap_seconds must be from 0 to 604800"):
        registrations.by_id(made.id).rotate_secret(overlap_seconds=-1)
    with pytest.raises(ValueError, match="has no time zone"):
        registrations.by_id(made.id).replay(failed_since=datetime(2026, 11, 30))
    with PartnerClient("http://testserver", token=world.other_token, http_client=client) as sdk:
        with pytest.raises(NotFoundError):
            sdk.webhooks.registrations.by_id(made.id).delete()
        assert list(sdk.webhooks.registrations.list()) == []
    assert [r.id for r in registrations.list()] == [made.id]


@pytest.mark.anyio
async def test_the_async_client_manages_registrations_too(
    app: FastAPI, world: World, hook: Receiver, loopback: Settings, db: Database
) -> None:
    async with client_aio.PartnerClient(
        "http://ztd.test", token=world.token, transport=httpx.ASGITransport(app=app)
    ) as partner:
        registrations = partner.webhooks.registrations
        made = await registrations.create(hook.url, [CREATED])
        assert made.secret is not None
        assert [r.id async for r in registrations.list()] == [made.id]
        one = registrations.by_id(made.id)
        assert (await one.update(hook.url, [COMPLETED])).webhook_events == [COMPLETED]
        event = await one.send_test()
        assert Deliverer(db, loopback).deliver_due() == 1
        assert await partner.webhooks.events.by_id(event).replay() == 1
        assert await one.replay(failed_since=AN_HOUR_AGO) == 0
        assert (await one.rotate_secret()).secret not in (None, made.secret)
        assert CREATED in await partner.webhooks.event_types()
        await one.delete()
        with pytest.raises(NotFoundError):
            await one.get()
