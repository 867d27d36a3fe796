"""The control plane's routes under /_ztd/v1/ (operator tokens only; the gate hides them
from everyone else). Not a hot path: plain FastAPI routes with response models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Table, delete, select

from ztd.server.api.context import context_of
from ztd.server.api.security import authenticate
from ztd.server.auth.tokens import Principal, Role
from ztd.server.clock import Clock
from ztd.server.emulator import world
from ztd.server.emulator.cache import ControlCache
from ztd.server.emulator.journal import Journal, JournalEntry
from ztd.server.emulator.journal import read as read_journal
from ztd.server.emulator.specs import Created, FaultSpec, RuleSpec, ThrottleSpec, tenant_key
from ztd.server.emulator.throttle import Throttler
from ztd.server.errors import InvalidRequest, Unavailable
from ztd.server.storage.database import Database
from ztd.server.storage.schema import (
    emulator_faults,
    emulator_requests,
    emulator_rules,
    emulator_throttling,
)


@dataclass
class Emulator:
    """What the control plane and the status seam share in one process."""

    db: Database
    cache: ControlCache
    clock: Clock
    journal: Journal
    throttler: Throttler

    async def throttle_problem(self) -> str | None:
        """Why throttling, being on, cannot count requests (None: it is off, or its storage
        answers): what /readyz reports. Bounded: the storage is pinged at most every
        throttle.HEALTH_SECONDS."""
        await self.cache.refresh_if_stale()
        if self.cache.throttling is None:
            return None
        return await self.throttler.problem()


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def operator(request: Request) -> Principal:
    """Anyone but an operator finds nothing here (the gate answers first; this is the
    second lock on the same door)."""
    try:
        principal = authenticate(request)
    except Exception as exc:
        raise HTTPException(404) from exc
    if Role.OPERATOR not in principal.roles or not context_of(request).settings.control_plane:
        raise HTTPException(404)
    return principal


router = APIRouter(prefix="/_ztd/v1", tags=["emulator"], dependencies=[Depends(operator)])


class StoredRule(RuleSpec):
    id: str
    remaining: int | None = None


class StoredFaultOut(FaultSpec):
    id: str
    seen: int = 0


class Cleared(BaseModel):
    deleted: int


def _add(emulator: Emulator, table: Table, spec: RuleSpec | FaultSpec, **counters: Any) -> Created:
    new_id = str(uuid.uuid4())
    with emulator.db.write() as conn:
        conn.execute(
            table.insert().values(
                id=new_id,
                partner_id=spec.partner_id,
                customer_id=spec.customer_id,
                spec=spec.model_dump_json(by_alias=True, exclude_none=True),
                created_at=emulator.clock(),
                **counters,
            )
        )
    emulator.cache.invalidate()
    return Created(id=new_id)


def _scoped(table: Table, partner_id: str | None, customer_id: str | None) -> list[Any]:
    where = []
    if partner_id is not None:
        where.append(table.c.partner_id == tenant_key(partner_id))
    if customer_id is not None:
        where.append(table.c.customer_id == tenant_key(customer_id))
    return where


def _list(
    emulator: Emulator, table: Table, counter: str, partner_id: str | None, customer_id: str | None
) -> list[dict[str, Any]]:
    query = (
        select(table.c.id, table.c.spec, table.c[counter])
        .where(*_scoped(table, partner_id, customer_id))
        .order_by(table.c.created_at, table.c.id)
    )
    with emulator.db.read() as conn:
        return [
            {**orjson.loads(spec), "id": id_, counter: n} for id_, spec, n in conn.execute(query)
        ]


def _clear(emulator: Emulator, table: Table, *where: Any) -> Cleared:
    with emulator.db.write() as conn:
        deleted = conn.execute(delete(table).where(*where)).rowcount
    emulator.cache.invalidate()
    return Cleared(deleted=deleted)


@router.post("/rules", status_code=201, response_model=Created, operation_id="emulatorAddRule")
def add_rule(spec: RuleSpec, request: Request) -> Created:
    """Force an outcome (a DDS error, stay processing, fail the chunk) for matching devices."""
    return _add(emulator_of(request), emulator_rules, spec, remaining=spec.times)


@router.get(
    "/rules",
    response_model=list[StoredRule],
    response_model_by_alias=True,
    response_model_exclude_none=True,
    operation_id="emulatorListRules",
)
def list_rules(
    request: Request, partnerId: str | None = None, customerId: str | None = None
) -> list[dict[str, Any]]:
    return _list(emulator_of(request), emulator_rules, "remaining", partnerId, customerId)


@router.delete("/rules/{rule_id}", response_model=Cleared, operation_id="emulatorDeleteRule")
def delete_rule(rule_id: str, request: Request) -> Cleared:
    cleared = _clear(emulator_of(request), emulator_rules, emulator_rules.c.id == rule_id)
    if not cleared.deleted:
        raise HTTPException(404)
    return cleared


@router.delete("/rules", response_model=Cleared, operation_id="emulatorClearRules")
def clear_rules(
    request: Request, partnerId: str | None = None, customerId: str | None = None
) -> Cleared:
    return _clear(
        emulator_of(request), emulator_rules, *_scoped(emulator_rules, partnerId, customerId)
    )


@router.post("/faults", status_code=201, response_model=Created, operation_id="emulatorAddFault")
def add_fault(spec: FaultSpec, request: Request) -> Created:
    """Answer matching calls with a status (429 + Retry-After, 5xx) and/or latency."""
    return _add(emulator_of(request), emulator_faults, spec, seen=0)


@router.get(
    "/faults",
    response_model=list[StoredFaultOut],
    response_model_by_alias=True,
    response_model_exclude_none=True,
    operation_id="emulatorListFaults",
)
def list_faults(
    request: Request, partnerId: str | None = None, customerId: str | None = None
) -> list[dict[str, Any]]:
    return _list(emulator_of(request), emulator_faults, "seen", partnerId, customerId)


@router.delete("/faults/{fault_id}", response_model=Cleared, operation_id="emulatorDeleteFault")
def delete_fault(fault_id: str, request: Request) -> Cleared:
    cleared = _clear(emulator_of(request), emulator_faults, emulator_faults.c.id == fault_id)
    if not cleared.deleted:
        raise HTTPException(404)
    return cleared


@router.delete("/faults", response_model=Cleared, operation_id="emulatorClearFaults")
def clear_faults(
    request: Request, partnerId: str | None = None, customerId: str | None = None
) -> Cleared:
    return _clear(
        emulator_of(request), emulator_faults, *_scoped(emulator_faults, partnerId, customerId)
    )


def _forget_cached_reads(request: Request) -> None:
    # The status fast lane must not answer documents of jobs that no longer exist.
    context_of(request).status_reads.forget_everything()
    emulator_of(request).cache.invalidate()


@router.post("/reset", response_model=dict[str, int], operation_id="emulatorReset")
def reset_world(request: Request, body: world.ResetRequest | None = None) -> dict[str, int]:
    """Delete everything, a partner's or a customer's data (and their tenants unless
    keepTenants); answers the rows deleted by table."""
    with emulator_of(request).db.write() as conn:
        counts = world.reset(conn, body or world.ResetRequest())
    _forget_cached_reads(request)
    return counts


@router.get("/snapshot", response_model=world.Snapshot, operation_id="emulatorExportSnapshot")
def export_snapshot(request: Request) -> world.Snapshot:
    """Every stored row (partners, customers, batches, devices, policies, OEM records...)."""
    with emulator_of(request).db.read() as conn:
        return world.export(conn)


@router.put("/snapshot", response_model=dict[str, int], operation_id="emulatorImportSnapshot")
def import_snapshot(request: Request, snapshot: world.Snapshot) -> dict[str, int]:
    """Replace the whole world with a snapshot; answers the rows imported by table."""
    try:
        with emulator_of(request).db.write() as conn:
            counts = world.restore(conn, snapshot)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid snapshot: {exc}") from exc
    _forget_cached_reads(request)
    return counts


@router.get(
    "/requests",
    response_model=list[JournalEntry],
    response_model_by_alias=True,
    operation_id="emulatorListRequests",
)
def list_requests(
    request: Request,
    correlationId: str | None = None,
    requestId: str | None = None,
    partnerId: str | None = None,
    customerId: str | None = None,
    method: str | None = None,
    status: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[JournalEntry]:
    """Recent requests, oldest first (kept while ZTD_JOURNAL=true)."""
    with emulator_of(request).db.read() as conn:
        return read_journal(
            conn,
            limit,
            correlation_id=correlationId,
            request_id=requestId,
            partner_id=tenant_key(partnerId),
            customer_id=tenant_key(customerId),
            method=method and method.upper(),
            status=status,
        )


@router.delete("/requests", response_model=Cleared, operation_id="emulatorClearRequests")
def clear_requests(request: Request) -> Cleared:
    return _clear(emulator_of(request), emulator_requests)


class ThrottlingState(ThrottleSpec):
    buckets: list[dict[str, Any]] = Field(default_factory=list)


@router.put("/throttling", response_model=ThrottleSpec, operation_id="emulatorSetThrottling")
def set_throttling(spec: ThrottleSpec, request: Request) -> ThrottleSpec:
    """Throttle per partner and/or per partner+customer; {} turns throttling off. Overrides
    the ZTD_THROTTLE_* settings until a reset of everything."""
    emulator = emulator_of(request)
    with emulator.db.write() as conn:
        conn.execute(delete(emulator_throttling))
        conn.execute(emulator_throttling.insert().values(id=1, spec=spec.model_dump_json()))
    emulator.cache.invalidate()
    return spec


@router.get("/throttling", response_model=ThrottlingState, operation_id="emulatorGetThrottling")
async def get_throttling(request: Request) -> ThrottlingState:
    """The throttling in force, and its live buckets: with the database storage (the
    default) every bucket with requests in its window, whichever process counted them; with
    memory:// or redis:// the buckets this process counted lately."""
    emulator = emulator_of(request)
    await emulator.cache.refresh_if_stale()
    spec = emulator.cache.throttling or ThrottleSpec()
    try:
        buckets = await emulator.throttler.buckets()
    except Exception as exc:  # the storage fails (Redis not running): say which and what to do
        emulator.throttler.failed(exc)
        raise Unavailable(emulator.throttler.unavailable()) from exc
    return ThrottlingState(**spec.model_dump(), buckets=buckets)
