"""A seeded world for API tests: two partners, their customers, tokens, the real ASGI app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from ztd.server.app import create_app
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


@dataclass
class World:
    partner: str
    customer: str
    other_partner: str
    other_customer: str  # belongs to other_partner
    sibling_customer: str  # a second customer of partner
    token: str
    other_token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def make_token(settings: Settings, partner: str, **kwargs: object) -> str:
    return issue_token(
        KeyStore(settings.data_dir / "keys"),
        issuer=settings.issuer,
        audience=settings.audience,
        partner_id=partner,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    now = utc_now()
    with db.write() as conn:
        partner = tenancy.add_partner(conn, "Fabrikam Partner", now)
        other_partner = tenancy.add_partner(conn, "Northwind Partner", now)
        customer = tenancy.add_customer(conn, "Contoso", partner, now)
        sibling = tenancy.add_customer(conn, "Litware", partner, now)
        other_customer = tenancy.add_customer(conn, "Adatum", other_partner, now)
    return World(
        partner=partner,
        customer=customer,
        other_partner=other_partner,
        other_customer=other_customer,
        sibling_customer=sibling,
        token=make_token(settings, partner, roles=(Role.ADMIN_AGENT,)),
        other_token=make_token(settings, other_partner, roles=(Role.ADMIN_AGENT,)),
    )


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    """The real app in-process, without the embedded worker: tests drive `worker`."""
    app = create_app(settings, db=db, embedded_worker=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def worker(db: Database, settings: Settings) -> Worker:
    return Worker(db, settings)
