"""Dead lease owners: a worker that was killed gives its chunks back at once to a worker of the
same host, and only a provably dead one does."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.api import create_batch, hash_device, status_of
from tests.support.world import World
from ztd.server.jobs import owners
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import job_chunks

# A process that claims one chunk for an hour as a worker of its own, says which, and holds
# it until its stdin closes (or it is killed).
_HOLDER = """
import sys
from ztd.server.clock import utc_now
from ztd.server.jobs import leases, owners
from ztd.server.storage.database import Database

db = Database(sys.argv[1])
with db.write() as conn:
    lease = leases.claim(conn, owner=str(owners.this_process()), now=utc_now(), lease_seconds=3600)
print(lease.chunk_pk if lease else "none", flush=True)
sys.stdin.read()
"""


@contextmanager
def _holders(url: str, count: int) -> Iterator[list[tuple[subprocess.Popen[str], int]]]:
    """``count`` holder processes (started together: each takes a while to import), each
    with the chunk it claimed."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _HOLDER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        held = []
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.isdigit(), f"the holder claimed nothing: {line!r}"
            held.append((process, int(line)))
        yield held
    finally:
        for process in processes:
            if process.poll() is None:
                assert process.stdin is not None
                process.stdin.close()
                process.wait(10)


def _lease(db: Database, chunk_pk: int) -> tuple[str, str | None, str | None]:
    with db.read() as conn:
        row = conn.execute(
            select(job_chunks.c.status, job_chunks.c.lease_owner, job_chunks.c.lease_token).where(
                job_chunks.c.pk == chunk_pk
            )
        ).one()
    return row.status, row.lease_owner, row.lease_token


def test_a_killed_workers_chunk_is_reclaimed_at_once_and_a_live_ones_is_kept(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    settings.chunk_size = 1
    tracking = create_batch(
        client, world.customer, world.auth(), "held", [hash_device(1), hash_device(2)]
    )
    url = settings.resolved_database_url
    with _holders(url, 2) as [(dead, dead_chunk), (_live, live_chunk)]:
        live_before = _lease(db, live_chunk)
        dead.send_signal(signal.SIGKILL)
        dead.wait(10)
        # Both leases run for another hour; only the killed holder's is given back.
        worker = Worker(db, settings)  # "restarted": a new worker process of this host
        worker.reap()
        assert _lease(db, dead_chunk) == ("queued", None, None)
        assert _lease(db, live_chunk) == live_before
        assert worker.run_until_idle() == 1
    document = status_of(client, world.customer, tracking, world.auth())
    states = [entry["status"] for entry in document["devicesStatus"]]
    assert states.count("finished") == 1  # the live holder's device is still in its hands


def test_only_a_provably_dead_owner_is_judged_dead() -> None:
    me = owners.this_process()
    assert owners.parse(str(me)) == me
    assert not owners.is_provably_dead(str(me))
    # This process's id with another start time: a predecessor that had the same id (PID 1 of
    # a restarted container).
    assert owners.is_provably_dead(str(me._replace(started=me.started - 60)))

    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        live = me._replace(pid=sleeper.pid, started=owners._started(sleeper.pid))
        assert not owners.is_provably_dead(str(live))
        # The same process id with another start time: the id was reused by a new process.
        assert owners.is_provably_dead(str(live._replace(started=live.started - 5)))
        # Owners this host cannot judge: another host, another PID namespace, unknown start.
        assert not owners.is_provably_dead(str(live._replace(host="elsewhere", started=1.0)))
        assert not owners.is_provably_dead(str(live._replace(scope="0123456789", started=1.0)))
        assert not owners.is_provably_dead(str(live._replace(started=-1.0)))
    finally:
        assert sleeper.stdin is not None
        sleeper.stdin.close()
        sleeper.wait(10)
    # Its process is gone (and reaped): no process has that id now, or a later one does.
    assert owners.is_provably_dead(str(live))


@pytest.mark.parametrize(
    "name", ["", "stale", "w0", "host:123:abcdef", "a/b/c/d/e", "h/12/x/s/t", "h/-/1.0/s/t"]
)
def test_names_that_do_not_parse_are_never_dead(name: str) -> None:
    assert not owners.is_provably_dead(name)
