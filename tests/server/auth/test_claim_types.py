"""Claims with the wrong JSON type are a 401 naming the claim, never a 500 or a guess (issue
20, finding 5): a signed token from a trusted issuer can still carry ``"exp": "9999999999"``,
``"roles": "admin-agent"`` or ``"tid": 42``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_error
from tests.support.issuers import ExternalIssuerServer, claims_for, sign_claims
from tests.support.world import World, make_token
from ztd.server.app import create_app
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.settings import ExternalIssuer, Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database

# Values of the wrong type are refused whatever time they name: a fixed one keeps the test
# ids stable. Tokens meant to pass take the time when the test runs (a session can be
# longer than a token's life).
NOW = 4_102_444_800  # 2100-01-01


def _now() -> int:
    return int(utc_now().timestamp())


# (claim, wrong value, what the description must say about it)
WRONG_TYPES: list[tuple[str, Any, str]] = [
    ("exp", str(NOW + 600), "'exp' claim must be a number"),
    ("exp", True, "'exp' claim must be a number"),
    ("exp", [NOW + 600], "'exp' claim must be a number"),
    ("exp", {"value": NOW + 600}, "'exp' claim must be a number"),
    ("exp", None, "'exp' claim must be a number"),
    ("exp", float("inf"), "'exp' claim must be a finite number"),
    ("nbf", str(NOW), "'nbf' claim must be a number"),
    ("nbf", False, "'nbf' claim must be a number"),
    ("iat", str(NOW), "'iat' claim must be a number"),
    ("iat", {"at": NOW}, "'iat' claim must be a number"),
    ("roles", "admin-agent", "'roles' claim must be an array of strings"),
    ("roles", {"admin-agent": True}, "'roles' claim must be an array of strings"),
    ("roles", ["admin-agent", 7], "'roles' claim must be an array of strings"),
    ("roles", None, "'roles' claim must be an array of strings"),
    ("tid", 42, "'tid' claim must be a string"),
    ("tid", {"id": "x"}, "'tid' claim must be a string"),
    ("tid", ["a-partner"], "'tid' claim must be a string"),
    ("tid", "contoso\x00", "'tid' claim must be a tenant id (a GUID)"),
    ("sub", 1234, "'sub' claim must be a string"),
    ("idtyp", ["app"], "'idtyp' claim must be a string"),
    ("aud", 5, "'aud' claim must be a string or an array of strings"),
    ("jti", {}, "'jti' claim must be a string"),
]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, World, Settings]]:
    """One app for all the variants: the claims are refused before any storage is read, so
    neither a second backend nor a fresh database per case would test anything more."""
    tmp = tmp_path_factory.mktemp("claims")
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'ztd.sqlite3'}")
    db = Database(settings.resolved_database_url)
    migrate.upgrade(db)
    with db.write() as conn:
        partner = tenancy.add_partner(conn, "Fabrikam Partner", utc_now())
        customer = tenancy.add_customer(conn, "Contoso", partner, utc_now())
    token = make_token(settings, partner)
    world = World(partner, customer, "", "", "", token, "")
    with TestClient(create_app(settings, db=db, embedded_worker=False)) as client:
        yield client, world, settings
    db.dispose()


@pytest.mark.parametrize(("claim", "value", "said"), WRONG_TYPES, ids=lambda v: repr(v)[:20])
def test_a_claim_of_the_wrong_type_is_401(
    served: tuple[TestClient, World, Settings], claim: str, value: Any, said: str
) -> None:
    client, world, settings = served
    token = sign_claims(settings, claims_for(settings, world, **{claim: value}))
    response = client.get(
        f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth(token)
    )
    assert said in assert_error(response, 401, "400")["description"]


def test_claims_of_the_right_types_in_other_spellings_are_accepted(
    served: tuple[TestClient, World, Settings],
) -> None:
    client, world, settings = served
    # NumericDate allows fractions; a GUID may come in upper case.
    now = _now()
    claims = claims_for(settings, world, exp=now + 600.5, iat=now + 0.25, tid=world.partner.upper())
    url = f"/v1/customers/{world.customer}/deviceBatches"
    assert client.get(url, headers=world.auth(sign_claims(settings, claims))).status_code == 200
    no_roles = claims_for(settings, world, idtyp="app")
    del no_roles["roles"]  # app-only tokens carry none
    assert client.get(url, headers=world.auth(sign_claims(settings, no_roles))).status_code == 200


def test_an_external_issuers_claims_are_checked_the_same_way(
    db: Database,
    settings: Settings,
    world: World,
    external_issuer: tuple[ExternalIssuerServer, str],
) -> None:
    server, jwks_uri = external_issuer
    settings.trusted_issuers = [
        ExternalIssuer(
            issuer=server.issuer,
            audience=settings.audience,
            jwks_uri=jwks_uri,
            tenant_claim="partner_tenant",
            roles_claim="wids",
            role_map={"AdminAgent": "admin-agent"},
        )
    ]
    claims = {
        "iss": server.issuer,
        "aud": settings.audience,
        "partner_tenant": world.partner,
        "wids": ["AdminAgent"],
        "exp": _now() + 600,
    }
    url = f"/v1/customers/{world.customer}/deviceBatches"
    with TestClient(create_app(settings, db=db, embedded_worker=False)) as client:
        assert client.get(url, headers=world.auth(server.token(**claims))).status_code == 200
        for claim, value, said in [
            ("wids", "AdminAgent", "'wids' claim must be an array of strings"),
            ("partner_tenant", 42, "'partner_tenant' claim must be a string"),
            ("exp", str(NOW + 600), "'exp' claim must be a number"),
        ]:
            token = server.token(**{**claims, claim: value})
            response = client.get(url, headers=world.auth(token))
            assert said in assert_error(response, 401, "400")["description"], (claim, value)
