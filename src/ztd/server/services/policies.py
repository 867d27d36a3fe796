"""Configuration policies (E8-E12) with Partner Center's behaviour.

Deleting a policy that devices use is allowed: the devices are unassigned in the same
transaction (their ``policies`` become empty), so no device points at a missing policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from ztd.server.clock import wire_time
from ztd.server.errors import InvalidRequest, NotFound, shown
from ztd.server.storage.ids import maybe_guid
from ztd.server.storage.schema import configuration_policies, devices
from ztd.wire import PolicyCategory, PolicySettingsType

_SETTING_FLAGS = {
    1: "remove_oem_preinstalls",
    2: "oobe_user_not_local_admin",
    4: "skip_express_settings",
    8: "skip_oem_registration",
    16: "skip_eula",
}


def parse_settings(raw: object) -> list[str]:
    """policySettings as the snake_case strings; unknown values are refused by name."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest("policySettings must be an array of strings.")
    parsed: list[str] = []
    for index, value in enumerate(raw):
        if isinstance(value, int) and value in _SETTING_FLAGS:
            name = _SETTING_FLAGS[value]
        elif isinstance(value, str) and (member := PolicySettingsType.lookup(value)):
            name = member.value  # any spelling in (SkipEula, skip_eula, SKIPEULA); snake out
        else:
            allowed = ", ".join(m.value for m in PolicySettingsType)
            raise InvalidRequest(
                f"policySettings[{index}]: unknown setting {shown(value)}; allowed: {allowed}."
            )
        if name != PolicySettingsType.NONE.value and name not in parsed:
            parsed.append(name)
    return parsed


def parse_category(raw: object) -> str:
    # The .NET sample never sets a category and PowerShell sends "None": missing or none
    # means OOBE, the only category there is. Any spelling (o_o_b_e, OOBE, None, NONE).
    if raw is None or raw in ("", 0, 1):
        return PolicyCategory.OOBE.value
    if isinstance(raw, str) and PolicyCategory.lookup(raw) is not None:
        return PolicyCategory.OOBE.value
    raise InvalidRequest(f"category: unknown policy category {shown(raw)}; allowed: o_o_b_e.")


def _assigned_counts(policy_ids: Any) -> Any:
    return (
        select(devices.c.policy_id, func.count().label("n"))
        .where(devices.c.policy_id.in_(policy_ids))
        .group_by(devices.c.policy_id)
        .subquery()
    )


def list_policies(conn: Connection, customer_id: str) -> dict[str, Any]:
    ids = select(configuration_policies.c.id).where(
        configuration_policies.c.customer_id == customer_id
    )
    counts = _assigned_counts(ids)
    rows = conn.execute(
        select(configuration_policies, func.coalesce(counts.c.n, 0).label("assigned"))
        .outerjoin(counts, counts.c.policy_id == configuration_policies.c.id)
        .where(configuration_policies.c.customer_id == customer_id)
        .order_by(configuration_policies.c.created_at, configuration_policies.c.id)
    ).all()
    items = [_document(row, row.assigned) for row in rows]
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


def get_policy(conn: Connection, customer_id: str, policy_id: str) -> dict[str, Any]:
    row = _row(conn, customer_id, policy_id)
    assigned = conn.execute(
        select(func.count()).select_from(devices).where(devices.c.policy_id == row.id)
    ).scalar_one()
    return _document(row, assigned)


def create_policy(
    conn: Connection,
    customer_id: str,
    *,
    name: str,
    category: str,
    description: str | None,
    settings: Sequence[str],
    now: datetime,
) -> dict[str, Any]:
    policy_id = str(uuid.uuid4())
    conn.execute(
        insert(configuration_policies).values(
            id=policy_id,
            customer_id=customer_id,
            name=name,
            category=category,
            description=description,
            settings=orjson.dumps(list(settings)).decode(),
            created_at=now,
            last_modified_at=now,
        )
    )
    return get_policy(conn, customer_id, policy_id)


def replace_policy(
    conn: Connection,
    customer_id: str,
    policy_id: str,
    *,
    name: str,
    description: str | None,
    settings: Sequence[str],
    now: datetime,
) -> dict[str, Any]:
    """PUT: name, description and settings are replaced; id and category are kept."""
    row = _row(conn, customer_id, policy_id)
    conn.execute(
        update(configuration_policies)
        .where(configuration_policies.c.id == row.id)
        .values(
            name=name,
            description=description,
            settings=orjson.dumps(list(settings)).decode(),
            last_modified_at=now,
        )
    )
    return get_policy(conn, customer_id, row.id)


def delete_policy(conn: Connection, customer_id: str, policy_id: str) -> int:
    """Delete the policy and unassign its devices; returns how many were unassigned. The
    policy row is locked first, so an assignment job running meanwhile finishes before the
    devices are unassigned, or runs after and finds no policy (see policy_updates)."""
    row = _row(conn, customer_id, policy_id, lock=True)
    unassigned = conn.execute(
        update(devices).where(devices.c.policy_id == row.id).values(policy_id=None)
    ).rowcount
    conn.execute(delete(configuration_policies).where(configuration_policies.c.id == row.id))
    return int(unassigned or 0)


def _row(conn: Connection, customer_id: str, policy_id: str, *, lock: bool = False) -> Any:
    guid = maybe_guid(policy_id)
    row = None
    if guid is not None:
        query = select(configuration_policies).where(
            configuration_policies.c.id == guid,
            configuration_policies.c.customer_id == customer_id,
        )
        row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"Configuration policy {shown(policy_id)} was not found for this customer.")
    return row


def _document(row: Any, assigned: int) -> dict[str, Any]:
    document: dict[str, Any] = {"id": row.id, "name": row.name, "category": row.category}
    if row.description is not None:
        document["description"] = row.description
    # The resource table and the SDKs name the count devicesAssignedCount; every example
    # on the docs' pages shows devicesAssigned. Clients read either: send both.
    document["devicesAssignedCount"] = int(assigned)
    document["devicesAssigned"] = int(assigned)
    document["policySettings"] = orjson.loads(row.settings)
    document["createdDate"] = wire_time(row.created_at)
    document["lastModifiedDate"] = wire_time(row.last_modified_at)
    document["attributes"] = {"objectType": "ConfigurationPolicy"}
    return document
