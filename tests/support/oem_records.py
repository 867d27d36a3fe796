"""OEM records in a test's database, as `ztd admin oem import` leaves them: what strict
registration mode matches uploaded tuples against (an 812 names the field that differs)."""

from __future__ import annotations

from collections.abc import Sequence

from ztd.identity.synthetic import synthesize_hash
from ztd.server.clock import utc_now
from ztd.server.services import oem_registry
from ztd.server.storage.database import Database


def import_oem(db: Database, tuples: Sequence[tuple[str, str, str]], seed: int = 90) -> None:
    """One record per (manufacturer, model, serial), each with a synthetic hash carrying them
    (seeds from ``seed``)."""
    rows = [
        (
            f"record {n}",
            {
                "hardware_hash": synthesize_hash(
                    seed + n, serial=serial, manufacturer=maker, model=model
                )
            },
        )
        for n, (maker, model, serial) in enumerate(tuples)
    ]
    records, problems = oem_registry.prepare_records(rows)
    assert problems == []
    with db.write() as conn:
        assert oem_registry.import_records(conn, records, utc_now()) == len(tuples)
