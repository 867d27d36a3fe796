"""Job-completed events whose deliveries wait for an emulator hold to end.

A ``stayProcessing`` rule (emulator.holds) keeps a finished job's status at ``processing``;
its ``*.job.completed`` event must reach nobody before the status URL shows the finish, or a
receiver that reads the status on the event (and a waiting SDK) sees ``processing``. A
``seconds`` hold dates its end, so the deliveries are simply recorded due then
(``events.job_finished``). A ``polls`` hold ends at a status read nobody can date: its
deliveries are parked (``pending`` with no ``next_attempt_at``: never claimed, never handed
to a listen channel) until :func:`release`, called by the read that ends the hold, or
:func:`release_orphans`, the deliverer's sweep, for a hold that went another way (an
emulator reset removed it). A replay of such an event while the hold lasts waits the same
way (:func:`replay_due`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import orjson
from sqlalchemy import Connection, select, update

from ztd.server.emulator import holds
from ztd.server.storage.schema import emulator_holds, webhook_deliveries, webhook_events
from ztd.server.webhooks import catalog

_d = webhook_deliveries.c
_JOB_EVENTS = sorted(set(catalog.JOB_EVENT_OF_KIND.values()))


def replay_due(
    conn: Connection, event_type: str, payload: str | bytes, now: datetime
) -> datetime | None:
    """When the replayed deliveries of an event are due: ``now``, unless it is a job's
    completion event and the job is still held (the end of a ``seconds`` hold; None, parked
    until :func:`release`, for a ``polls`` hold)."""
    tracking_id = _tracking_id(payload) if event_type in _JOB_EVENTS else None
    return now if tracking_id is None else holds.shown_at(conn, tracking_id, now)


def release(conn: Connection, job_id: str, now: datetime) -> int:
    """Make the parked deliveries of job ``job_id``'s event due ``now`` (its hold just
    ended, in this transaction); returns how many."""
    return _release(conn, now, _parked(conn), lambda tracking_id: tracking_id == job_id.lower())


def release_orphans(conn: Connection, now: datetime) -> int:
    """Make due ``now`` the parked deliveries whose job is no longer held; returns how many.
    Costs one indexed read while nothing is parked."""
    parked = _parked(conn)
    if not parked:
        return 0
    held = {
        str(job_id).lower()
        for job_id in conn.execute(
            select(emulator_holds.c.job_id).where(
                emulator_holds.c.job_id.in_({tracking_id for _, tracking_id in parked})
            )
        ).scalars()
    }
    return _release(conn, now, parked, lambda tracking_id: tracking_id not in held)


def _release(
    conn: Connection, now: datetime, parked: list[tuple[int, str]], wanted: Callable[[str], bool]
) -> int:
    pks = [pk for pk, tracking_id in parked if wanted(tracking_id)]
    if pks:
        conn.execute(update(webhook_deliveries).where(_d.pk.in_(pks)).values(next_attempt_at=now))
    return len(pks)


def _parked(conn: Connection) -> list[tuple[int, str]]:
    """(delivery pk, the job's tracking id, lower case) of every parked delivery."""
    rows = conn.execute(
        select(_d.pk, webhook_events.c.payload)
        .join(webhook_events, webhook_events.c.id == _d.event_id)
        .where(
            _d.status == "pending",
            _d.next_attempt_at.is_(None),
            webhook_events.c.event_type.in_(_JOB_EVENTS),
        )
    ).all()
    found = []
    for pk, payload in rows:
        tracking_id = _tracking_id(payload)
        if tracking_id is not None:
            found.append((pk, tracking_id))
    return found


def _tracking_id(payload: str | bytes) -> str | None:
    """The job's tracking id (lower case) in a job event's payload."""
    tracking_id = orjson.loads(payload).get("data", {}).get("trackingId")
    return tracking_id.lower() if isinstance(tracking_id, str) else None
