"""Searching a big batch: the API's ?search= / ?policy= (a ztd extension of E4) filter in the
database and page the matches, and the console's device search is that query. A search once
read the whole batch through the API 100 devices at a time (seconds on 30,000 devices) and
gave up after 100,000, silently missing the matches beyond."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.support.big_batch import add_big_batch, serial_of
from tests.support.console import sign_in
from tests.support.world import World
from ztd.server.storage.database import Database
from ztd.server.storage.schema import devices

COUNT = 20_000
NEEDLE = COUNT - 7  # a match near the end of the batch


def _seed(db: Database, world: World) -> list[str]:
    serials = {NEEDLE: "Needle-XyZ-1", 3: "50%_OFF", 4: "500FF"}
    ids = add_big_batch(db, world.customer, "big", COUNT, serials=serials)
    # Another customer's batch of the same name holds a device matching every search below.
    add_big_batch(db, world.other_customer, "big", 3, serials={0: "Needle-XyZ-2"})
    return ids


def _page(client: TestClient, world: World, **params: str) -> dict[str, Any]:
    url = f"/v1/customers/{world.customer}/deviceBatches/big/devices"
    answer = client.get(url, params=params, headers=world.auth())
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


@pytest.mark.timing
def test_the_api_searches_a_big_batch_in_the_database(
    client: TestClient, db: Database, world: World
) -> None:
    ids = _seed(db, world)
    started = time.perf_counter()
    found = _page(client, world, search="needle-xyz")
    took = time.perf_counter() - started
    assert [d["serialNumber"] for d in found["items"]] == ["Needle-XyZ-1"]  # not Adatum's
    assert found["totalCount"] == 1 and "continuationToken" not in found
    assert took < 2, f"a search of {COUNT:,} devices took {took:.2f} s"

    # By PKID and by device id (any case); '%' and '_' are text, not wildcards.
    assert [d["id"] for d in _page(client, world, search="3500000019990")["items"]] == [ids[19990]]
    assert [d["id"] for d in _page(client, world, search=ids[12345].upper())["items"]] == [
        ids[12345]
    ]
    assert [d["serialNumber"] for d in _page(client, world, search="50%_")["items"]] == ["50%_OFF"]

    # Many matches: a bounded page, and links.next goes on with the same search.
    first = _page(client, world, search="big001")  # BIG0010000 .. BIG0019999 (but the needle)
    assert len(first["items"]) == 100 and first["totalCount"] == 9_999
    assert first["items"][0]["serialNumber"] == serial_of(10_000)
    link = first["links"]["next"]
    assert "search=big001" in link["uri"]
    token = {h["key"]: h["value"] for h in link["headers"]}
    second = client.get(f"/v1{link['uri']}", headers={**world.auth(), **token}).json()
    assert [d["serialNumber"] for d in second["items"]] == [
        serial_of(n) for n in range(10_100, 10_200)
    ]


def test_the_api_filters_by_policy_and_refuses_a_bad_filter(
    client: TestClient, db: Database, world: World
) -> None:
    ids = _seed(db, world)
    base = f"/v1/customers/{world.customer}"
    policy = client.post(
        f"{base}/policies",
        json={"name": "Kiosk", "category": "o_o_b_e", "policySettings": ["remove_oem_preinstalls"]},
        headers=world.auth(),
    ).json()["id"]
    with db.write() as conn:
        chosen = [ids[5], ids[COUNT - 1]]
        conn.execute(update(devices).where(devices.c.id.in_(chosen)).values(policy_id=policy))
    assigned = _page(client, world, policy=policy.upper())
    assert [d["id"] for d in assigned["items"]] == chosen
    assert _page(client, world, policy="none")["totalCount"] == COUNT - 2
    both = _page(client, world, policy=policy, search=serial_of(COUNT - 1).lower())
    assert [d["id"] for d in both["items"]] == [ids[COUNT - 1]]

    for params, named in (({"policy": "kiosk"}, "policy"), ({"search": "x" * 201}, "search")):
        answer = client.get(
            f"{base}/deviceBatches/big/devices", params=params, headers=world.auth()
        )
        assert answer.status_code == 400 and named in answer.json()["description"], answer.text
    other = client.get(
        f"/v1/customers/{world.other_customer}/deviceBatches/big/devices",
        params={"search": "needle"},
        headers=world.auth(),
    )
    assert other.status_code in (403, 404)  # another partner's customer: tenancy as E4


def test_the_console_search_is_the_apis_query(
    client: TestClient, db: Database, world: World
) -> None:
    _seed(db, world)
    sign_in(client, world.token)
    page = f"/console/customers/{world.customer}/batches/big"
    found = client.get(page, params={"q": "NEEDLE"})
    assert found.status_code == 200, found.text
    assert "Needle-XyZ-1" in found.text and "Needle-XyZ-2" not in found.text
    assert "1 matching devices" in found.text

    nothing = client.get(page, params={"q": "zzzz"})
    assert "No device matches" in nothing.text

    many = client.get(page, params={"q": "big001"}).text
    shown = re.findall(r"<td>(BIG\d{7})</td>", many)
    assert shown == [serial_of(n) for n in range(10_000, 10_100)]
    following = re.search(r'<a rel="next" href="\?([^"]+)"', many)
    assert following, "a search with more matches links to its next page"
    query = following.group(1).replace("&amp;", "&")
    assert "q=big001" in query
    after = client.get(f"{page}?{query}").text
    assert re.findall(r"<td>(BIG\d{7})</td>", after)[0] == serial_of(10_100)
