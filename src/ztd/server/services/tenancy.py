"""Partners, customers and their relationships; which customers a partner may act for."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, func, insert, select

from ztd.server.errors import CustomerNotFound
from ztd.server.storage import widths
from ztd.server.storage.ids import maybe_guid
from ztd.server.storage.schema import customers, partner_customers, partners


def require_customer(conn: Connection, partner_id: str, customer_id: str) -> None:
    """Raise the same 404 for a customer that does not exist and one of another partner."""
    found = conn.execute(
        select(partner_customers.c.customer_id).where(
            partner_customers.c.partner_id == partner_id,
            partner_customers.c.customer_id == customer_id.lower(),
        )
    ).first()
    if found is None:
        raise CustomerNotFound(customer_id)


def add_partner(conn: Connection, name: str, now: datetime, partner_id: str | None = None) -> str:
    _check_name(name)
    pid = _guid(partner_id)
    conn.execute(insert(partners).values(id=pid, name=name.strip(), created_at=now))
    return pid


def add_customer(
    conn: Connection,
    name: str,
    partner_id: str,
    now: datetime,
    customer_id: str | None = None,
    domain: str | None = None,
) -> str:
    _check_name(name)
    cid = _guid(customer_id)
    if conn.execute(select(partners.c.id).where(partners.c.id == partner_id)).first() is None:
        raise LookupError(f"partner {partner_id} does not exist")
    conn.execute(insert(customers).values(id=cid, name=name.strip(), domain=domain, created_at=now))
    conn.execute(
        insert(partner_customers).values(partner_id=partner_id, customer_id=cid, created_at=now)
    )
    return cid


class Named(NamedTuple):
    id: str
    name: str  # as stored


def partner_named(conn: Connection, name: str) -> Named | None:
    """The partner called ``name`` (letter case and outer spaces aside), if any."""
    query = select(partners.c.id, partners.c.name).where(
        func.lower(func.trim(partners.c.name)) == name.strip().lower()
    )
    found = conn.execute(query.limit(1)).first()
    return None if found is None else Named(str(found[0]), found[1])


def customer_named(conn: Connection, partner_id: str, name: str) -> Named | None:
    """``partner_id``'s customer called ``name`` (as :func:`partner_named`); ValueError when
    ``partner_id`` is no GUID."""
    partner_id = _guid(partner_id)
    query = (
        select(customers.c.id, customers.c.name)
        .join(partner_customers, partner_customers.c.customer_id == customers.c.id)
        .where(partner_customers.c.partner_id == partner_id)
        .where(func.lower(func.trim(customers.c.name)) == name.strip().lower())
    )
    found = conn.execute(query.limit(1)).first()
    return None if found is None else Named(str(found[0]), found[1])


def partner_exists(conn: Connection, partner_id: str) -> bool:
    return (
        conn.execute(select(partners.c.id).where(partners.c.id == partner_id)).first() is not None
    )


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a partner or a customer, as a phrase after "a name"
    (None: it can). Control and invisible characters (an ESC that recolours a terminal, a
    zero-width space that makes two names look one) are refused: names are shown in lists,
    logs and the console."""
    if not name.strip():
        return "must not be empty or only spaces"
    if len(name) > widths.NAME:
        return f"must have at most {widths.NAME} characters, not {len(name)}"
    for at, char in enumerate(name, start=1):
        if unicodedata.category(char) in ("Cc", "Cf"):
            return (
                f"must not hold control or invisible characters "
                f"(U+{ord(char):04X} at character {at})"
            )
    return None


def _check_name(name: str) -> None:
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(f"a name {problem}")


def _guid(value: str | None) -> str:
    """A tenant id as stored (new when ``value`` is empty); ValueError when not a GUID."""
    if not value:
        return str(uuid.uuid4())
    guid = maybe_guid(value)
    if guid is None:
        raise ValueError(f"{value!r} is not a GUID (tenant ids look like 0b9d2a51-...)")
    return guid


class PartnerRow(NamedTuple):
    id: str
    name: str
    customers: int
    created: str


class CustomerRow(NamedTuple):
    id: str
    name: str
    partner_id: str
    created: str


def list_partners(conn: Connection) -> list[PartnerRow]:
    """Every partner, oldest first, with its number of customers (for `ztd admin`)."""
    count = (
        select(func.count())
        .where(partner_customers.c.partner_id == partners.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(partners.c.id, partners.c.name, count, partners.c.created_at).order_by(
            partners.c.created_at, partners.c.id
        )
    )
    return [PartnerRow(str(r[0]), r[1], int(r[2]), _when(r[3])) for r in rows]


def list_customers(conn: Connection, partner_id: str | None = None) -> list[CustomerRow]:
    """Every customer (of ``partner_id``, when given), oldest first, with its partner."""
    query = (
        select(
            customers.c.id, customers.c.name, partner_customers.c.partner_id, customers.c.created_at
        )
        .join(partner_customers, partner_customers.c.customer_id == customers.c.id)
        .order_by(customers.c.created_at, customers.c.id)
    )
    if partner_id is not None:
        query = query.where(partner_customers.c.partner_id == _guid(partner_id))
    return [CustomerRow(str(r[0]), r[1], str(r[2]), _when(r[3])) for r in conn.execute(query)]


def _when(value: datetime) -> str:
    """ISO 8601 with its zone, as every other list prints times (SQLite hands back naive
    UTC times, PostgreSQL aware ones)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.isoformat(timespec="seconds")
