"""Every link the service hands out percent-encodes each id as one path segment
(ztd.wire.paths.resource_path), and following it reaches the same resource: a batch's
links.self, its devicesLink, a device's links.self, links.next with its filter, the 202's
Location, a customer's links, and the console's links. A batch's links.self once put its id
in raw, so "a?b#c" led to batch "a" (404) and "50%" to nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from tests.support.api import hash_device
from tests.support.console import sign_in
from tests.support.contract import check_every_response
from tests.support.live_server import live_server
from tests.support.world import World
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.wire.paths import resource_path

# Reserved characters, a space, percent signs (one that decodes to '/'), dot segments and
# non-ASCII. ('/' itself is refused in a batch id: see the last test.)
BATCH_IDS = ["a?b#c", "50%", "a b", "%2F..%2F", "..", ".", "Ünïcödé 设备", "x;y=z&w+v"]


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[httpx.Client]:
    """The app behind a real uvicorn: Starlette's TestClient decodes a path twice, so that
    "%252F" would reach the app as "/" there but never from a real client."""
    with (
        live_server(create_app(settings, db=db, embedded_worker=False)) as url,
        httpx.Client(base_url=url) as http,
    ):
        check_every_response(http)
        yield http


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """One device a page, so that every list has a links.next to follow."""
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, chunk_size=50, page_size=1
    )


def _v1(uri: str) -> str:
    """A link as followed: relative, without /v1, as Partner Center writes them."""
    assert uri.startswith("/"), uri
    return f"/v1{uri}"


def _register(
    client: httpx.Client, world: World, worker: Worker, batch_id: str, seed: int = 1
) -> None:
    """The batch with two devices (seeds ``seed`` and ``seed + 1``), registered."""
    answer = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": batch_id, "Devices": [hash_device(seed), hash_device(seed + 1)]},
        headers=world.auth(),
    )
    assert answer.status_code == 202, answer.text
    location = answer.headers["Location"]
    worker.run_until_idle()
    status = client.get(_v1(location), headers=world.auth())
    assert status.status_code == 200 and status.json()["status"].startswith("finished")


@pytest.mark.parametrize("batch_id", BATCH_IDS)
def test_every_api_link_of_a_batch_leads_back_to_it(
    client: httpx.Client, world: World, worker: Worker, batch_id: str
) -> None:
    _register(client, world, worker, batch_id)
    auth = world.auth()
    listed = client.get(f"/v1/customers/{world.customer}/deviceBatches", headers=auth).json()
    (batch,) = listed["items"]
    self_uri = batch["links"]["self"]["uri"]
    assert self_uri == resource_path("customers", world.customer, "deviceBatches", batch_id)
    assert unquote(self_uri.rsplit("/", 1)[1]) == batch_id
    followed = client.get(_v1(self_uri), headers=auth)
    assert followed.status_code == 200, (self_uri, followed.text)
    assert followed.json()["id"] == batch_id and followed.json()["links"] == batch["links"]

    devices = client.get(_v1(batch["devicesLink"]["uri"]), headers=auth).json()
    (first,) = devices["items"]
    device = client.get(_v1(first["links"]["self"]["uri"]), headers=auth)
    assert device.status_code == 200 and device.json()["id"] == first["id"]

    # links.next (one device a page) leads to the batch's second device.
    link = devices["links"]["next"]
    assert link["uri"] == batch["devicesLink"]["uri"]
    token = {h["key"]: h["value"] for h in link["headers"]}
    second = client.get(_v1(link["uri"]), headers={**auth, **token})
    assert second.status_code == 200, (link, second.text)
    assert [d["id"] for d in second.json()["items"]] != [first["id"]]


def test_a_next_link_keeps_a_search_with_reserved_characters(
    client: httpx.Client, world: World, worker: Worker
) -> None:
    _register(client, world, worker, "plain")
    auth = world.auth()
    devices = f"/v1/customers/{world.customer}/deviceBatches/plain/devices"
    nothing = client.get(devices, params={"search": "a?b#c &d=% é"}, headers=auth).json()
    assert nothing["totalCount"] == 0 and "links" not in nothing
    # A search with reserved characters, matching both devices (their serials have a "8").
    needle = "8"
    page = client.get(devices, params={"search": needle, "policy": "none"}, headers=auth).json()
    uri = page["links"]["next"]["uri"]
    assert uri.endswith("/devices?search=8&policy=none"), uri
    token = {h["key"]: h["value"] for h in page["links"]["next"]["headers"]}
    second = client.get(_v1(uri), headers={**auth, **token}).json()
    assert second["totalCount"] == 2 and second["items"][0]["id"] != page["items"][0]["id"]


def test_customer_links_and_pages_lead_back(client: httpx.Client, world: World) -> None:
    auth = world.auth()
    first = client.get("/v1/customers?size=1", headers=auth).json()
    customer = first["items"][0]
    assert (
        client.get(_v1(customer["links"]["self"]["uri"]), headers=auth).json()["id"]
        == (customer["id"])
    )
    link = first["links"]["next"]
    token = {h["key"]: h["value"] for h in link["headers"]}
    more = client.get(_v1(link["uri"]), headers={**auth, **token})
    assert more.status_code == 200 and more.json()["items"][0]["id"] != customer["id"]


def test_the_consoles_batch_links_lead_back(
    client: httpx.Client, world: World, worker: Worker
) -> None:
    for n, batch_id in enumerate(BATCH_IDS):
        _register(client, world, worker, batch_id, seed=10 * n + 1)
    sign_in(client, world.token)
    listing = client.get(f"/console/customers/{world.customer}").text
    hrefs = re.findall(rf'href="(/console/customers/{world.customer}/batches/[^"]+)"', listing)
    assert len(hrefs) == len(BATCH_IDS), hrefs
    for href, batch_id in zip(hrefs, BATCH_IDS, strict=True):
        assert href.rsplit("/", 1)[1] == resource_path(batch_id)[1:]
        page = client.get(href.replace("&amp;", "&"))
        assert page.status_code == 200, (href, page.text[:300])
        title = re.search(r"<h1>Batch <q>(.*?)</q>", page.text)
        assert title and title.group(1) == batch_id.replace("&", "&amp;"), href
        action = re.search(r'<form method="post" action="([^"]+)" id="assign">', page.text)
        assert action and action.group(1) == f"{href}/policy"


def test_a_batch_id_with_a_slash_is_refused_as_it_could_not_be_linked(
    client: httpx.Client, world: World
) -> None:
    answer = client.post(
        f"/v1/customers/{world.customer}/deviceBatches",
        json={"BatchId": "a/b", "Devices": [hash_device(1)]},
        headers=world.auth(),
    )
    assert answer.status_code == 400 and "'/'" in answer.json()["description"]
