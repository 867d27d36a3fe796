"""The customers a partner has a relationship with, in Partner Center's Customer shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from ztd.server.errors import customer_not_found
from ztd.server.services.paging import decode_token, encode_token, seek_collection
from ztd.server.services.tenancy import add_customer
from ztd.server.storage.schema import customers, partner_customers


def customer_document(row: Row[Any]) -> dict[str, Any]:
    profile: dict[str, Any] = {"tenantId": row.id, "companyName": row.name}
    if row.domain:
        profile["domain"] = row.domain
    profile["attributes"] = {"objectType": "CustomerCompanyProfile"}
    return {
        "id": row.id,
        "companyProfile": profile,
        "relationshipToPartner": "reseller",
        "attributes": {"objectType": "Customer"},
    }


def _of_partner(partner_id: str) -> Any:
    return (
        select(customers)
        .join(partner_customers, partner_customers.c.customer_id == customers.c.id)
        .where(partner_customers.c.partner_id == partner_id)
    )


def get_customer(conn: Connection, partner_id: str, customer_id: str) -> dict[str, Any]:
    row = conn.execute(_of_partner(partner_id).where(customers.c.id == customer_id)).first()
    if row is None:
        raise customer_not_found(customer_id)
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
        f"/customers?size={page_size}",
    )


def create_customer(
    conn: Connection, partner_id: str, name: str, domain: str | None, now: datetime
) -> dict[str, Any]:
    customer_id = add_customer(conn, name, partner_id, now, domain=domain)
    return get_customer(conn, partner_id, customer_id)
