"""The delivery log's paged reads, in the domain and through the API: a registration's
deliveries and an event's, newest first, each with its attempts, continued by token (body,
links.next or the MS-ContinuationToken header); another partner's ids are missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.webhooks import Log, Webhooks, three_test_events
from tests.support.world import World
from ztd.server.errors import InvalidRequest, NotFound
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks import history

REG = "/webhooks/v1/registration"


@pytest.fixture
def log(client: TestClient, db: Database, settings: Settings, world: World) -> Iterator[Log]:
    with three_test_events(client, db, settings, world) as made:
        yield made


def test_deliveries_are_paged_newest_first_with_their_attempts(
    db: Database, world: World, log: Log
) -> None:
    reg_id = log.registration["id"]
    with db.read() as conn:
        first = history.deliveries_page(conn, world.partner, reg_id, size=2)
        assert [d["eventId"] for d in first["items"]] == log.sent[::-1][:2]
        assert first["totalCount"] == 3 and first["continuationToken"]
        rest = history.deliveries_page(
            conn, world.partner, reg_id, token=first["continuationToken"], size=2
        )
        with pytest.raises(NotFound):
            history.deliveries_page(conn, world.other_partner, reg_id)
        with pytest.raises(InvalidRequest, match="continuation token"):
            history.deliveries_page(conn, world.partner, reg_id, token="Yzox")  # "c:1"
    assert [d["eventId"] for d in rest["items"]] == log.sent[:1]
    assert "continuationToken" not in rest and "links" not in rest
    (oldest,) = rest["items"]
    assert oldest["type"] == "webhook.test" and oldest["createdTime"].endswith("Z")
    (attempt,) = oldest["attemptLog"]
    assert attempt["attempt"] == 1 and attempt["latencyMs"] >= 0
    # One attempt each (no retry): the receiver failed whichever came first, for good.
    outcomes = sorted(
        (d["attemptLog"][0]["statusCode"], d["status"]) for d in first["items"] + rest["items"]
    )
    assert outcomes == [(200, "delivered"), (200, "delivered"), (500, "failed")]


def test_the_api_pages_a_registrations_deliveries_by_token(
    client: TestClient, world: World, log: Log
) -> None:
    path = f"{REG}/{log.registration['id']}/deliveries"
    first = client.get(path, params={"size": 2}, headers=world.auth())
    assert first.status_code == 200, first.text
    page = first.json()
    assert [d["eventId"] for d in page["items"]] == log.sent[::-1][:2]
    assert page["totalCount"] == 3 and page["attributes"] == {"objectType": "Collection"}
    token = page["continuationToken"]
    following = page["links"]["next"]
    assert following["uri"] == f"{path}?size=2" and following["method"] == "GET"
    assert following["headers"] == [{"key": "MS-ContinuationToken", "value": token}]
    # The token in the header (what links.next says) or in the query: the same page.
    by_header = client.get(
        path, params={"size": 2}, headers={**world.auth(), "MS-ContinuationToken": token}
    ).json()
    by_query = client.get(
        path, params={"size": 2, "continuationToken": token}, headers=world.auth()
    ).json()
    assert by_header == by_query
    assert [d["eventId"] for d in by_header["items"]] == log.sent[:1]
    assert "continuationToken" not in by_header
    (failed,) = by_header["items"]
    assert failed["status"] == "failed" and failed["attemptLog"][0]["statusCode"] == 500
    # The default page holds all three; the flat attempt list still answers beside it.
    assert len(client.get(path, headers=world.auth()).json()["items"]) == 3
    flat = client.get(f"{REG}/{log.registration['id']}/attempts", headers=world.auth()).json()
    assert len(flat["items"]) == 3


def test_the_api_pages_an_events_deliveries(client: TestClient, world: World, log: Log) -> None:
    event_id = log.sent[0]
    page = client.get(f"/webhooks/v1/events/{event_id}/deliveries", headers=world.auth())
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["totalCount"] == 1 and "continuationToken" not in body
    (delivery,) = body["items"]
    assert delivery["eventId"] == event_id
    assert delivery["registrationId"] == log.registration["id"]
    assert [a["statusCode"] for a in delivery["attemptLog"]] == [500]


@pytest.mark.parametrize(
    ("query", "headers", "says"),
    [
        ({"size": "0"}, {}, "size must be a whole number from 1 to 100"),
        ({"size": "101"}, {}, "size must be a whole number from 1 to 100"),
        ({"size": "²"}, {}, "size must be a whole number from 1 to 100"),
        ({"continuationToken": "bm9wZQ"}, {}, "continuation token"),
        ({}, {"MS-ContinuationToken": "d2Q6LTE"}, "continuation token"),  # "wd:-1"
    ],
)
def test_bad_paging_is_a_precise_400(
    client: TestClient,
    world: World,
    log: Log,
    query: dict[str, str],
    headers: dict[str, str],
    says: str,
) -> None:
    for path in (
        f"{REG}/{log.registration['id']}/deliveries",
        f"/webhooks/v1/events/{log.sent[0]}/deliveries",
    ):
        answer = client.get(path, params=query, headers={**world.auth(), **headers})
        assert answer.status_code == 400, answer.text
        assert says in answer.json()["description"]


def test_a_token_pages_only_the_list_it_came_from(webhooks: Webhooks) -> None:
    """Two registrations, two jobs' events each to both: four lists of two deliveries, each with
    a token after its first page. Each list continues its own token; every other list
    (the other registration's, an event's) refuses it, both ways."""
    client, world = webhooks.client, webhooks.world
    first, second = webhooks.subscribe(), webhooks.subscribe()
    webhooks.finish_a_job("first", seed=7)
    webhooks.finish_a_job("second", seed=8)
    page = client.get(f"{REG}/{first['id']}/deliveries", headers=world.auth()).json()
    events = [d["eventId"] for d in page["items"]]
    lists = [f"{REG}/{r['id']}/deliveries" for r in (first, second)]
    lists += [f"/webhooks/v1/events/{e}/deliveries" for e in events]
    tokens = {}
    for path in lists:
        page = client.get(path, params={"size": 1}, headers=world.auth()).json()
        assert page["totalCount"] == 2, page
        tokens[path] = page["continuationToken"]
    for path in lists:
        for origin, token in tokens.items():
            answer = client.get(
                path, params={"size": 1, "continuationToken": token}, headers=world.auth()
            )
            if origin == path:
                assert answer.status_code == 200, answer.text
                assert len(answer.json()["items"]) == 1
            else:
                assert answer.status_code == 400, (path, origin, answer.text)
                assert "not valid for this list" in answer.json()["description"]


def test_another_partners_log_answers_as_missing(
    client: TestClient, world: World, log: Log
) -> None:
    theirs = world.auth(world.other_token)
    reg_id, event_id = log.registration["id"], log.sent[0]
    for real, made_up, template in (
        (reg_id, "0" * len(reg_id), REG + "/{}/deliveries"),
        (event_id, "msg_" + "0" * (len(event_id) - 4), "/webhooks/v1/events/{}/deliveries"),
    ):
        foreign = client.get(template.format(real), headers=theirs)
        missing = client.get(template.format(made_up), headers=theirs)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.text.replace(real, made_up) == missing.text
