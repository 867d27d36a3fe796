"""The request journal records a request's path as the client sent it, and its
``correlationId`` filter finds a GUID however it is spelled (case, braces, hyphens), as the
API reads GUIDs; an id that is no GUID is matched exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch, hash_device
from tests.support.emulator import operator_auth
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

CORRELATION = "c0ffee00-aaaa-4bbb-8ccc-0000000000de"


@pytest.fixture
def jclient(settings: Settings, db: Database) -> Iterator[TestClient]:
    journaled = settings.model_copy(update={"journal": True})
    with TestClient(create_app(journaled, db=db, embedded_worker=False)) as test_client:
        yield test_client


def _journal(client: TestClient, op: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/_ztd/v1/requests", params=params, headers=op)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def test_a_braced_upper_case_status_path_is_recorded_as_sent(
    jclient: TestClient, world: World, settings: Settings, worker: Worker
) -> None:
    op = operator_auth(settings, world)
    job = create_batch(jclient, world.customer, world.auth(), "as-sent", [hash_device(3)])
    worker.run_until_idle()
    sent = [
        f"/v1/customers/{world.customer}/batchJobStatus/{{{job.upper()}}}",
        f"/V1/Customers/{{{world.customer.upper()}}}/batchjobstatus/{job}",
        f"/v1/customers/{world.customer}//batchJobStatus/{job}/",
    ]
    for n, path in enumerate(sent):
        headers = world.auth() | {"MS-CorrelationId": f"{CORRELATION[:-1]}{n}"}
        assert jclient.get(path, headers=headers).status_code == 200, path
    for n, path in enumerate(sent):
        [entry] = _journal(jclient, op, correlationId=f"{CORRELATION[:-1]}{n}")
        assert entry["path"] == path
        assert entry["customerId"] == world.customer  # the customer, however spelled


@pytest.mark.parametrize(
    "spelling",
    [
        CORRELATION,
        CORRELATION.upper(),
        "{" + CORRELATION + "}",
        "{" + CORRELATION.upper() + "}",
        CORRELATION.replace("-", ""),
    ],
)
@pytest.mark.parametrize("sent", [CORRELATION.upper(), "{" + CORRELATION + "}"])
def test_the_correlation_filter_matches_any_spelling_of_a_guid(
    jclient: TestClient, world: World, settings: Settings, sent: str, spelling: str
) -> None:
    op = operator_auth(settings, world)
    url = f"/v1/customers/{world.customer}/deviceBatches"
    assert jclient.get(url, headers=world.auth() | {"MS-CorrelationId": sent}).status_code == 200
    other = "c0ffee00-aaaa-4bbb-8ccc-0000000000df"
    jclient.get(url, headers=world.auth() | {"MS-CorrelationId": other})
    [entry] = _journal(jclient, op, correlationId=spelling)
    assert entry["correlationId"] == sent  # recorded as sent
    assert [e["correlationId"] for e in _journal(jclient, op, correlationId=other)] == [other]


def test_a_correlation_id_that_is_no_guid_is_matched_exactly(
    jclient: TestClient, world: World, settings: Settings
) -> None:
    op = operator_auth(settings, world)
    url = f"/v1/customers/{world.customer}/deviceBatches"
    jclient.get(url, headers=world.auth() | {"MS-CorrelationId": "run-7"})
    assert len(_journal(jclient, op, correlationId="run-7")) == 1
    assert _journal(jclient, op, correlationId="RUN-7") == []
    assert _journal(jclient, op, correlationId="{run-7}") == []
