"""Assigning configuration policies to devices (E6, DevicePolicyUpdates), through the job
engine: 807 for a device that is not this customer's, 809 for a policy that does not exist,
810 for another customer's policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from ztd.identity import dds
from ztd.server.errors import InvalidRequest, refuse_nul
from ztd.server.jobs.contract import ChunkContext, WorkedOut
from ztd.server.jobs.documents import ItemOutcome, precheck_outcome
from ztd.server.jobs.enqueue import JobItem
from ztd.server.storage import widths
from ztd.server.storage.ids import maybe_guid
from ztd.server.storage.in_lists import in_slices
from ztd.server.storage.schema import configuration_policies, devices
from ztd.wire import Device, KeyValuePair, PolicyCategory

UNASSIGN = ""  # policy_ref of an item whose o_o_b_e value is null: remove the assignment


MAX_REF = widths.DEVICE_REF  # the longest device or policy id a job item keeps


def prepare_policy_items(request_devices: Sequence[Device]) -> list[JobItem]:
    items: list[JobItem] = []
    for index, device in enumerate(request_devices):
        has_oobe, oobe_value = oobe_policy(device.policies)
        for what, value in (("id", device.id), ("policies[].value", oobe_value)):
            if isinstance(value, str) and len(value) > MAX_REF:
                raise InvalidRequest(
                    f"devices[{index}].{what}: {len(value)} characters; at most {MAX_REF}."
                )
            refuse_nul(value, f"devices[{index}].{what}:")
        device_ref = (device.id or "").strip() or None
        if device_ref is None or not has_oobe:
            error = dds.INVALID_REQUEST_BODY
            missing = "id" if device_ref is None else "o_o_b_e policy"
            detail = (
                f"devices[{index}] has no {missing}: send the device's id and a policies entry "
                'with key "o_o_b_e" (its value the policy id, or empty to unassign)'
            )
            items.append(
                JobItem(
                    device_ref,
                    precheck_code=error.code,
                    precheck_name=error.name,
                    precheck_detail=detail,
                )
            )
        else:
            policy_ref = (oobe_value or "").strip() or UNASSIGN
            items.append(JobItem(device_ref, policy_ref=policy_ref))
    return items


def apply_chunk(ctx: ChunkContext) -> WorkedOut:
    """Assign each item's policy to its device, or refuse it (807, 809, 810)."""
    conn, customer_id = ctx.conn, ctx.job.customer_id
    items = ctx.items()
    device_ids = sorted({g for i in items if (g := maybe_guid(i.device_ref or ""))})
    policy_ids = sorted({g for i in items if (g := maybe_guid(i.policy_ref or ""))})
    device_owner = {
        row.id: row.customer_id
        for part in in_slices(device_ids)
        for row in conn.execute(
            select(devices.c.id, devices.c.customer_id).where(devices.c.id.in_(part))
        )
    }
    policy_owner = policy_owners(conn, policy_ids)
    outcomes: list[ItemOutcome] = []
    assignments: list[dict[str, Any]] = []
    for item in items:
        if item.precheck_name:
            refused = precheck_outcome(item)
            refused[0] = item.device_ref  # echoed as sent (no device id was ever given)
            outcomes.append(refused)
            continue
        device_id = maybe_guid(item.device_ref or "")
        policy_id = maybe_guid(item.policy_ref or "") if item.policy_ref != UNASSIGN else None
        error = None
        if device_id is None or device_owner.get(device_id) != customer_id:
            error = dds.DEVICE_NOT_REGISTERED
        elif item.policy_ref != UNASSIGN:
            error = policy_error(policy_owner, policy_id, customer_id)
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
    return WorkedOut(items, outcomes)


def policy_owners(conn: Connection, policy_ids: Sequence[str]) -> dict[str, str]:
    """Policy id -> its customer, for those of ``policy_ids`` that exist. FOR SHARE
    (PostgreSQL): a policy deleted meanwhile (delete_policy locks it first) either waits for
    the assignment and then unassigns it too, or is gone before (809); never a device
    pointing at a deleted policy."""
    policy = configuration_policies.c
    return {
        row.id: row.customer_id
        for part in in_slices(sorted(set(policy_ids)))
        for row in conn.execute(
            select(policy.id, policy.customer_id)
            .where(policy.id.in_(part))
            .with_for_update(read=True)
        )
    }


def policy_error(
    owners: dict[str, str], policy_id: str | None, customer_id: str
) -> dds.DdsError | None:
    """Why a device of ``customer_id`` cannot take the policy, or None: 809 when it does not
    exist, 810 when it is another customer's."""
    if policy_id is None or policy_id not in owners:
        return dds.PROFILE_NOT_REGISTERED
    if owners[policy_id] != customer_id:
        return dds.PROFILE_ASSIGNED_TO_OTHER_TENANT
    return None


def oobe_policy(policies: Sequence[Any] | None) -> tuple[bool, str | None]:
    """From a device's ``policies`` entries ({key, value}, keys in any spelling): whether
    an OOBE entry is there, and its (last) value."""
    present, value = False, None
    for entry in policies or ():
        if isinstance(entry, KeyValuePair) and entry.key is PolicyCategory.OOBE:
            present, value = True, entry.value
    return present, value


def assign_registered(
    conn: Connection, customer_id: str, wanted: Sequence[tuple[int, str, str]]
) -> dict[int, dds.DdsError]:
    """Policies sent with an upload, as if a device policy update followed it: ``wanted``
    holds (ordinal, device id, policy ref) of devices this job registered. Returns the
    ordinals whose policy was refused (809 / 810); the others are assigned."""
    owners = policy_owners(conn, [g for _, _, ref in wanted if (g := maybe_guid(ref))])
    refused: dict[int, dds.DdsError] = {}
    assignments: list[dict[str, Any]] = []
    for ordinal, device_id, ref in wanted:
        policy_id = maybe_guid(ref)
        error = policy_error(owners, policy_id, customer_id)
        if error is not None:
            refused[ordinal] = error
        else:
            assignments.append({"device": device_id, "policy": policy_id})
    if assignments:
        conn.execute(
            update(devices)
            .where(devices.c.id == bindparam("device"))
            .values(policy_id=bindparam("policy")),
            assignments,
        )
    return refused
