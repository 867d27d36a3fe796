"""The server and `ztd csv check` agree on hash text from the field cases: a hash whose '='
padding was cut off is 802 in both (the checker adds what to append), and the same hash with
its padding restored registers; one machine captured twice (two different hash strings) in one
upload is a duplicate in both."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_batch, status_of
from tests.support.real_devices import case
from tests.support.world import World
from ztd.identity.csv_reader import read_devices
from ztd.identity.synthetic import regenerate_hash, synthesize_hash
from ztd.server.jobs.worker import Worker


def test_unpadded_hash_is_802_on_the_server_as_in_the_checker(
    client: TestClient, world: World
) -> None:
    data = case("case11-unpadded-hash.csv")
    [row] = list(csv.DictReader(io.StringIO(data.decode())))
    unpadded = row["Hardware Hash"]
    assert "append '=='" in read_devices(data).errors[0].message
    for text, expected in ((unpadded, "802"), (unpadded + "==", None)):
        tracking = create_batch(
            client,
            world.customer,
            world.auth(),
            f"b-{uuid.uuid4().hex[:8]}",
            [{"hardwareHash": text}],
        )
        Worker(client.app.state.ztd.db, client.app.state.ztd.settings).run_until_idle()  # type: ignore[attr-defined]
        [device] = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
        assert device.get("errorCode") == expected, device


def _hashes(data: bytes) -> list[str]:
    return [row["Hardware Hash"] for row in csv.DictReader(io.StringIO(data.decode()))]


@pytest.mark.parametrize("source", ["case17", "regenerated"])
def test_a_recapture_in_one_upload_is_a_duplicate_on_the_server_as_in_the_checker(
    client: TestClient, world: World, source: str
) -> None:
    if source == "case17":
        data = case("case17-append-duplicate-recapture.csv")
        first, second = _hashes(data)
        assert [(d.line, d.code) for d in read_devices(data).errors] == [(3, "ZtdDeviceDuplicated")]
    else:  # a synthetic machine read twice: the same identity, another hash string
        first, second = synthesize_hash(212), regenerate_hash(212)
    assert first != second  # two captures, not one string sent twice
    tracking = create_batch(
        client,
        world.customer,
        world.auth(),
        f"b-{uuid.uuid4().hex[:8]}",
        [{"hardwareHash": first}, {"hardwareHash": second}],
    )
    Worker(client.app.state.ztd.db, client.app.state.ztd.settings).run_until_idle()  # type: ignore[attr-defined]
    registered, copy = status_of(client, world.customer, tracking, world.auth())["devicesStatus"]
    assert registered["status"] == "finished" and registered.get("deviceId")
    assert (copy["status"], copy.get("errorDescription")) == (
        "finished_with_errors",
        "ZtdDeviceDuplicated",
    )
    assert copy["serialNumber"] == registered["serialNumber"]  # the entry names the machine
