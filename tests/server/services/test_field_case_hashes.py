"""The server and `ztd csv check` agree on hash text from the field cases: a hash whose '='
padding was cut off is 802 in both (the checker adds what to append), and the same hash with
its padding restored registers."""

from __future__ import annotations

import csv
import io
import uuid

from fastapi.testclient import TestClient

from tests.support.api import create_batch, status_of
from tests.support.real_devices import case
from tests.support.world import World
from ztd.identity.csv_reader import read_devices
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
