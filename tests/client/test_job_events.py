"""Reading a listen channel's answer for one job's completion event (ztd.client._job_events);
the waits that use it are in test_poller_via_events.py."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from ztd.client import UnexpectedResponseError
from ztd.client._job_events import announces, channel_id
from ztd.client._lro import StatusLocation

CID = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"
MINE = StatusLocation.of(CID, "2b6d4d1e-0000-4000-8000-00000000000a")


def _answer(body: Any) -> httpx.Response:
    request = httpx.Request("GET", "http://ztd.test/webhooks/v1/registration/r/listen")
    return httpx.Response(200, json=body, request=request)


def _item(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    payload = orjson.dumps({"type": event_type, "timestamp": "2026-11-30T00:00:00Z", "data": data})
    return {"type": event_type, "payload": payload.decode(), "headers": {}}


def test_only_this_jobs_completion_event_counts() -> None:
    other = _item("devicebatch.job.completed", {"trackingId": "another"})
    created = _item("devicebatch.created", {"batchId": "b", "trackingId": MINE.tracking_id})
    mine = _item("devicepolicy.job.completed", {"trackingId": MINE.tracking_id.upper()})
    assert not announces(_answer({"items": []}), MINE)
    assert not announces(_answer({"items": [other, created, {"type": 3}]}), MINE)
    assert announces(_answer({"items": [other, mine]}), MINE)


def test_an_answer_without_items_is_the_services_fault() -> None:
    with pytest.raises(UnexpectedResponseError, match="is not a listen channel"):
        announces(_answer({"value": []}), MINE)


def test_an_answer_that_is_not_a_listen_registration_opens_no_channel() -> None:
    assert channel_id(_answer({"id": "r1", "listen": True})) == "r1"
    assert channel_id(_answer({"id": "r1", "webhookUrl": "https://x"})) is None
    assert channel_id(_answer({"SubscriberUrl": "https://x"})) is None
    assert channel_id(_answer([])) is None
