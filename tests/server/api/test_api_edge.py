"""The API edge's small faults (issue 20, items 5 and 7b): Allow on 405, client aborts,
links that lead back, the canonical MS-RequestId fingerprint, large bodies off the loop."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.types import Message

from tests.support.api import hash_device
from tests.support.live_server import live_server
from tests.support.waiting import wait_until
from tests.support.world import World
from ztd.server.api.bodies import OFF_LOOP_FROM, read_json
from ztd.server.api.idempotency import canonical_pieces
from ztd.server.app import create_app
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the edge, not the storage


@pytest.fixture
def live(settings: Settings, db: Database, world: World) -> Iterator[str]:
    with live_server(create_app(settings, db=db, embedded_worker=False)) as url:
        yield url


def test_405_names_every_allowed_method(client: TestClient, world: World) -> None:
    base = f"/v1/customers/{world.customer}"
    for method, url, allowed in (
        ("DELETE", f"{base}/deviceBatches", "GET, POST"),
        ("PATCH", f"{base}/policies/some-id", "DELETE, GET, PUT"),
        ("POST", f"{base}/policies/some-id", "DELETE, GET, PUT"),
        ("GET", f"{base}/DevicePolicyUpdates", "PATCH"),
        ("PUT", f"{base}/batchJobStatus/some-id", "GET"),
        ("DELETE", "/v1/customers", "GET, POST"),
        ("GET", "/oauth2/token", "POST"),
        ("POST", "/healthz", "GET"),
    ):
        response = client.request(method, url, headers=world.auth())
        assert response.status_code == 405, (method, url, response.text)
        assert response.headers["Allow"] == allowed, (method, url)
        assert response.json()["code"] == "405"
        assert allowed in response.json()["description"]


BATCH_IDS = ["a?b#c", "a b", "50%", "%2F", "a+b&c=d", "ünï €", ".", "..", "a;b", "%"]


def test_links_lead_back_to_their_resource(
    live: str, world: World, worker: Worker, settings: Settings
) -> None:
    settings.page_size = 1  # every batch of two devices has a links.next
    headers = world.auth()
    base = f"{live}/v1/customers/{world.customer}"
    with httpx.Client(headers=headers) as http:
        for n, batch_id in enumerate(BATCH_IDS):
            devices = [hash_device(2 * n), hash_device(2 * n + 1)]
            created = http.post(
                f"{base}/deviceBatches", json={"batchId": batch_id, "devices": devices}
            )
            assert created.status_code == 202, created.text
            status = http.get(f"{live}/v1{created.headers['Location']}")
            assert status.status_code == 200, status.text
        worker.run_until_idle()
        batches = http.get(f"{base}/deviceBatches").json()["items"]
        assert sorted(b["id"] for b in batches) == sorted(BATCH_IDS)
        for batch in batches:
            first = http.get(f"{live}/v1{batch['devicesLink']['uri']}")
            assert first.status_code == 200, (batch["id"], first.text)
            page = first.json()
            assert page["totalCount"] == 2, batch["id"]
            link = page["links"]["next"]
            following = {h["key"]: h["value"] for h in link["headers"]}
            second = http.get(f"{live}/v1{link['uri']}", headers=following)
            assert second.status_code == 200, (batch["id"], second.text)
            serials = {d["serialNumber"] for d in page["items"] + second.json()["items"]}
            assert len(serials) == 2, batch["id"]


def test_client_hanging_up_mid_upload_is_one_line(
    live: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server_log = logging.getLogger("uvicorn.error")  # uvicorn's own logger does not propagate
    server_log.addHandler(caplog.handler)
    try:
        caplog.set_level(logging.INFO)
        host, port = live.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"POST /v1/customers/{world.customer}/deviceBatches HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {world.token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n".encode()
                + b'{"batchId": "gone", "devices": ['
                + b" " * 50_000
            )
        wait_until(lambda: "closed the connection" in caplog.text, message=lambda: caplog.text)
        assert httpx.get(f"{live}/healthz").status_code == 200
    finally:
        server_log.removeHandler(caplog.handler)
    aborts = [r for r in caplog.records if "closed the connection" in r.getMessage()]
    assert len(aborts) == 1 and aborts[0].levelno == logging.INFO
    assert f"POST /v1/customers/{world.customer}/deviceBatches" in aborts[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_500_tells_the_client_the_connection_closes(settings: Settings, db: Database) -> None:
    app = create_app(settings, db=db, embedded_worker=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["Connection"] == "close"
    assert response.json()["code"] == "800003"


def test_a_retry_spelled_differently_replays(client: TestClient, world: World) -> None:
    url = f"/v1/customers/{world.customer}/policies"
    first_body = b'{"name": "Kiosk", "category": 1.0, "policySettings": ["remove_oem_preinstalls"]}'
    respelled = (
        b'{ "policySettings" : [ "remove_oem_preinstalls" ],\n'
        b'  "category": 1e0, "name":"\\u004Biosk" }'
    )
    changed = b'{"name": "Kiosk 2", "category": 1.0, "policySettings": ["remove_oem_preinstalls"]}'

    def send(body: bytes, request_id: str = "retry-1", to: str = url) -> Any:
        headers = {**world.auth(), "Content-Type": "application/json", "MS-RequestId": request_id}
        return client.post(to, content=body, headers=headers)

    first = send(first_body)
    assert first.status_code == 200, first.text
    again = send(respelled)
    assert again.status_code == 200 and again.json() == first.json()
    assert send(changed).status_code == 409
    assert client.get(url, headers=world.auth()).json()["totalCount"] == 1
    # An upload too: the same Location, whatever the spelling.
    batches = f"/v1/customers/{world.customer}/deviceBatches"
    device = hash_device(1)
    created = send(orjson.dumps({"batchId": "b", "devices": [device]}), "upload-1", batches)
    assert created.status_code == 202, created.text
    reordered = orjson.dumps({"devices": [dict(reversed(device.items()))], "batchId": "b"})
    replayed = send(reordered.replace(b"{", b"{ \n"), "upload-1", batches)
    assert replayed.status_code == 202
    assert replayed.headers["Location"] == created.headers["Location"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _request(body: bytes) -> Request:
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    return Request(scope, receive)


@pytest.mark.anyio
async def test_large_bodies_are_parsed_and_checked_off_the_event_loop(backend: str) -> None:
    loop_thread = threading.get_ident()
    for size, off_loop in ((1000, False), (OFF_LOOP_FROM, True), (40_000_000, True)):
        body = orjson.dumps({"devices": ["x" * 1000] * (size // 1000)})

        def check(document: Any) -> tuple[int, int]:
            return len(document["devices"]), threading.get_ident()

        raw, (count, thread) = await read_json(_request(body), 50_000_000, check)
        assert raw == body and count == size // 1000
        assert (thread != loop_thread) is off_loop, size


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
SMALL = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
)
# Long arrays (dumped a slice at a time) inside objects (walked key by key).
JSON = st.dictionaries(st.text(max_size=4), st.lists(SMALL, max_size=700) | SMALL, max_size=3)


@given(document=JSON)
@hypothesis_settings(max_examples=30, deadline=None)
def test_canonical_pieces_spell_the_document_as_one_sorted_dump(
    backend: str, document: Any
) -> None:
    assert b"".join(canonical_pieces(document)) == orjson.dumps(
        document, option=orjson.OPT_SORT_KEYS
    )
