"""Assigning configuration policies to devices (E6, DevicePolicyUpdates), through the job
engine: 807 for a device that is not this customer's, 809 for a policy that does not exist,
810 for another customer's policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from ztd.identity import dds
from ztd.server.api.ids import maybe_guid
from ztd.server.errors import bad_request, refuse_nul
from ztd.server.jobs.documents import ItemOutcome
from ztd.server.jobs.enqueue import JobItem
from ztd.server.jobs.leases import ChunkRow, Lease, chunk_rows
from ztd.server.storage.in_lists import in_slices
from ztd.server.storage.schema import configuration_policies, devices
from ztd.wire import Device, PolicyCategory

UNASSIGN = ""  # policy_ref of an item whose o_o_b_e value is null: remove the assignment


MAX_REF = 256  # the longest device or policy id a job item keeps


def prepare_policy_items(request_devices: Sequence[Device]) -> list[JobItem]:
    items: list[JobItem] = []
    for index, device in enumerate(request_devices):
        oobe = [p for p in device.policies or [] if p.key == PolicyCategory.OOBE]
        for what, value in (("id", device.id), ("policies[].value", oobe and oobe[-1].value)):
            if isinstance(value, str) and len(value) > MAX_REF:
                raise bad_request(
                    f"devices[{index}].{what}: {len(value)} characters; at most {MAX_REF}."
                )
            refuse_nul(value, f"devices[{index}].{what}:")
        device_ref = (device.id or "").strip() or None
        if device_ref is None or not oobe:
            error = dds.INVALID_REQUEST_BODY
            items.append(JobItem(device_ref, precheck_code=error.code, precheck_name=error.name))
        else:
            policy_ref = (oobe[-1].value or "").strip() or UNASSIGN
            items.append(JobItem(device_ref, policy_ref=policy_ref))
    return items


def apply_chunk(
    conn: Connection, lease: Lease, job: Row[Any], _now: datetime
) -> tuple[list[ChunkRow], list[ItemOutcome]]:
    items = chunk_rows(conn, lease)
    device_ids = sorted({g for i in items if (g := maybe_guid(i.device_ref or ""))})
    policy_ids = sorted({g for i in items if (g := maybe_guid(i.policy_ref or ""))})
    device_owner = {
        row.id: row.customer_id
        for part in in_slices(device_ids)
        for row in conn.execute(
            select(devices.c.id, devices.c.customer_id).where(devices.c.id.in_(part))
        )
    }
    policy = configuration_policies.c
    # FOR SHARE (PostgreSQL): a policy deleted meanwhile (delete_policy locks it first)
    # either waits for this assignment and then unassigns it too, or is gone before (809);
    # never a device pointing at a deleted policy.
    policy_owner = {
        row.id: row.customer_id
        for part in in_slices(policy_ids)
        for row in conn.execute(
            select(policy.id, policy.customer_id)
            .where(policy.id.in_(part))
            .with_for_update(read=True)
        )
    }
    outcomes: list[ItemOutcome] = []
    assignments: list[dict[str, Any]] = []
    for item in items:
        if item.precheck_name:
            outcomes.append([item.device_ref, item.precheck_code, item.precheck_name])
            continue
        device_id = maybe_guid(item.device_ref or "")
        policy_id = maybe_guid(item.policy_ref or "") if item.policy_ref != UNASSIGN else None
        error = None
        if device_id is None or device_owner.get(device_id) != job.customer_id:
            error = dds.DEVICE_NOT_REGISTERED
        elif item.policy_ref != UNASSIGN and policy_id not in policy_owner:
            error = dds.PROFILE_NOT_REGISTERED
        elif policy_id is not None and policy_owner[policy_id] != job.customer_id:
            error = dds.PROFILE_ASSIGNED_TO_OTHER_TENANT
        if error is not None:
            outcomes.append([item.device_ref, error.code, error.name])
            continue
        assignments.append({"device": device_id, "policy": policy_id})
        outcomes.append([device_id, None, None])
    if assignments:
        conn.execute(
            update(devices)
            .where(devices.c.id == bindparam("device"))
            .values(policy_id=bindparam("policy")),
            assignments,
        )
    return items, outcomes
