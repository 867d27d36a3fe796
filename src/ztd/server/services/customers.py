"""The customers a partner has a relationship with, in Partner Center's Customer shape."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from ztd.server.errors import CustomerNotFound
from ztd.server.services.paging import decode_token, encode_token, seek_collection
from ztd.server.services.tenancy import add_customer
from ztd.server.storage.schema import customers, partner_customers
from ztd.wire.paths import resource_path

# Names the commerce id apart from the tenant id, stably (Partner Center's are distinct
# GUIDs; nothing here needs them to be anything but stable and unique).
_COMMERCE_IDS = uuid.UUID("3f5b8a4e-0c1d-4e6f-9a7b-2d8c6e1f0a93")


def customer_document(row: Row[Any]) -> dict[str, Any]:
    """The documented Customer properties a CSP partner's tool reads: ids, the company
    profile, the relationship and delegated access, and links."""
    self_uri = resource_path("customers", row.id)
    profile: dict[str, Any] = {"tenantId": row.id, "companyName": row.name}
    if row.domain:
        profile["domain"] = row.domain
    profile["links"] = {"self": _link(f"{self_uri}/profiles/company")}
    profile["attributes"] = {"objectType": "CustomerCompanyProfile"}
    return {
        "id": row.id,
        "commerceId": str(uuid.uuid5(_COMMERCE_IDS, row.id)),
        "companyProfile": profile,
        "relationshipToPartner": "reseller",
        "allowDelegatedAccess": True,
        "links": {"self": _link(self_uri)},
        "attributes": {"objectType": "Customer"},
    }


def _link(uri: str) -> dict[str, Any]:
    return {"uri": uri, "method": "GET", "headers": []}


def _of_partner(partner_id: str) -> Any:
    return (
        select(customers)
        .join(partner_customers, partner_customers.c.customer_id == customers.c.id)
        .where(partner_customers.c.partner_id == partner_id)
    )


def get_customer(conn: Connection, partner_id: str, customer_id: str) -> dict[str, Any]:
    row = conn.execute(_of_partner(partner_id).where(customers.c.id == customer_id)).first()
    if row is None:
        raise CustomerNotFound(customer_id)
    return customer_document(row)


def list_customers(
    conn: Connection, partner_id: str, token: str | None, page_size: int
) -> dict[str, Any]:
    query = _of_partner(partner_id).order_by(customers.c.id).limit(page_size + 1)
    if token:
        query = query.where(customers.c.id > decode_token(token, "c"))
    rows = conn.execute(query).all()
    page = [customer_document(row) for row in rows[:page_size]]
    more = len(rows) > page_size
    return seek_collection(
        page,
        len(page),
        encode_token("c", rows[page_size - 1].id) if more else None,
        resource_path("customers", query={"size": page_size}),
    )


def create_customer(
    conn: Connection, partner_id: str, name: str, domain: str | None, now: datetime
) -> dict[str, Any]:
    customer_id = add_customer(conn, name, partner_id, now, domain=domain)
    return get_customer(conn, partner_id, customer_id)
