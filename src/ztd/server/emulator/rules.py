"""Device outcome rules, applied where the job engine decides a chunk's outcomes.

A forced error is decided before registration (the device's item loses its id, so it is not
registered) and reported through the same documents as a real one. ``failChunkTimes`` makes
the worker's attempt fail (:class:`ForcedChunkFailure`) until the chunk's attempt count
passes it, exercising the engine's retries. ``stayProcessing`` holds the job (:mod:`.holds`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from ztd.identity import dds
from ztd.server.emulator import holds
from ztd.server.emulator.specs import RuleSpec, dds_error, machine_key
from ztd.server.jobs.contract import (
    AsPlanned,
    ChunkAttemptFailed,
    ChunkContext,
    ChunkResult,
    WorkedOut,
)
from ztd.server.jobs.documents import planned_outcome
from ztd.server.storage.schema import emulator_rules, job_items


class ForcedChunkFailure(ChunkAttemptFailed):
    """A rule's ``failChunkTimes``: this attempt at the chunk fails, as a crash would."""


@dataclass(frozen=True)
class _Rule:
    id: str
    spec: RuleSpec
    remaining: int | None
    machine: str | None  # the identity key of match.hardwareHash

    def matches(self, item: _Item) -> bool:
        m = self.spec.match
        return (
            (
                m.serial_number is None
                or (item.serial is not None and fnmatch.fnmatchcase(item.serial, m.serial_number))
            )
            and (m.product_key is None or m.product_key in (item.product_key, item.pkid))
            and (m.manufacturer is None or _same(m.manufacturer, item.manufacturer))
            and (m.model is None or _same(m.model, item.model))
            and (self.machine is None or self.machine == item.machine)
        )


class _Item(NamedTuple):
    """What rules match an uploaded device on: as sent, or decoded from its hash."""

    ordinal: int
    serial: str | None  # sent, or the hash's
    product_key: str | None  # as sent
    manufacturer: str | None  # sent, or the hash's
    model: str | None  # sent, or the hash's
    machine: str | None  # the identity key (job_items.hardware_key)
    pkid: str | None  # the PKID that names the machine: sent, or inside the hash


def _same(wanted: str, value: str | None) -> bool:
    return value is not None and wanted.casefold() == value.casefold()


def rules_for(conn: Connection, partner_id: str, customer_id: str) -> list[_Rule]:
    r = emulator_rules.c
    query = (
        select(r.id, r.spec, r.remaining)
        .where(
            or_(r.partner_id.is_(None), r.partner_id == partner_id),
            or_(r.customer_id.is_(None), r.customer_id == customer_id),
            or_(r.remaining.is_(None), r.remaining > 0),
        )
        .order_by(r.created_at, r.id)
    )
    rules = []
    for id_, text, left in conn.execute(query):
        spec = RuleSpec.model_validate_json(text)
        wanted = spec.match.hardware_hash
        rules.append(_Rule(id_, spec, left, None if wanted is None else machine_key(wanted)))
    return rules


def decide_chunk(ctx: ChunkContext, register: Callable[[], ChunkResult]) -> ChunkResult:
    """The upload kind's one seam: register the chunk (``register``) under the rules that
    match its devices. Without rules it is ``register()`` plus one small query."""
    conn, job, chunk = ctx.conn, ctx.job, ctx.chunk
    rules = rules_for(conn, job.partner_id, job.customer_id)
    if not rules:
        return register()
    decided = _match_items(ctx, rules)
    if not decided:
        return register()
    for rule in {id(r): r for r in decided.values()}.values():
        times = rule.spec.outcome.fail_chunk_times
        if times is not None and chunk.attempt <= times:
            raise ForcedChunkFailure(
                f"rule {rule.id}: attempt {chunk.attempt} of chunk {chunk.chunk_no} fails"
            )
    forced: dict[int, dds.DdsError] = {}
    for ordinal, rule in decided.items():
        code = rule.spec.outcome.error_code
        if code is not None:
            forced[ordinal] = dds_error(code) or dds.STORAGE_ERROR
    _consume(conn, decided)
    if forced:  # not registered: the item loses the id it got at enqueue
        this_item = and_(job_items.c.job_id == job.id, job_items.c.ordinal == bindparam("n"))
        conn.execute(
            update(job_items).where(this_item).values(device_id=None),
            [{"n": ordinal} for ordinal in forced],
        )
    processed = register()
    if isinstance(processed, AsPlanned):
        rows = ctx.reread_items()  # the forced items lost their ids above
        outcomes = [planned_outcome(r) for r in rows]
        processed = WorkedOut(rows, outcomes)
    for ordinal, error in forced.items():
        processed.outcomes[ordinal - chunk.first_ordinal] = [None, error.code, error.name]
    stays = [
        r.spec.outcome.stay_processing for r in decided.values() if r.spec.outcome.stay_processing
    ]
    if stays:
        holds.hold(conn, job.id, stays[0], ctx.now)
    return processed


def _match_items(ctx: ChunkContext, rules: list[_Rule]) -> dict[int, _Rule]:
    """Item ordinal -> the first rule (oldest) deciding it; items refused at enqueue (no
    device id: 802, 803, duplicates) keep their own answer. ``times`` counts devices."""
    item = job_items.c
    query = (
        select(
            item.ordinal,
            item.serial_number,
            item.product_key,
            item.manufacturer,
            item.model_name,
            item.hardware_key,
            item.pkid_key,
        )
        .where(ctx.in_chunk(), item.device_id.is_not(None))
        .order_by(item.ordinal)
    )
    left = {rule.id: rule.remaining for rule in rules}
    decided: dict[int, _Rule] = {}
    for row in ctx.conn.execute(query):
        device = _Item(*row)
        for rule in rules:
            budget = left[rule.id]
            if (budget is None or budget > 0) and rule.matches(device):
                decided[device.ordinal] = rule
                if budget is not None:
                    left[rule.id] = budget - 1
                break
    return decided


def _consume(conn: Connection, decided: dict[int, _Rule]) -> None:
    used: dict[str, int] = {}
    for rule in decided.values():
        if rule.remaining is not None:
            used[rule.id] = used.get(rule.id, 0) + 1
    r = emulator_rules.c
    for rule_id, count in used.items():
        conn.execute(
            update(emulator_rules).where(r.id == rule_id).values(remaining=r.remaining - count)
        )
