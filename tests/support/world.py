"""The seeded world of API tests (two partners, their customers, tokens) and minting tokens
for other principals."""

from __future__ import annotations

from dataclasses import dataclass

from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
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
    """A token of the built-in issuer for ``partner``; ``kwargs`` go to `issue_token`
    (roles, app, ttl, ...)."""
    return issue_token(
        KeyStore(settings.data_dir / "keys"),
        issuer=settings.issuer,
        audience=settings.audience,
        partner_id=partner,
        **kwargs,  # type: ignore[arg-type]
    )


def seed_world(db: Database, settings: Settings) -> World:
    """Two partners; the first has two customers, the second one; admin-agent tokens."""
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
