"""Token validation: forged tokens are refused; rotation keeps old tokens valid; a second,
external OIDC issuer (run here over HTTP with its own keys) is trusted by configuration."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from tests.support.api import assert_error
from tests.support.issuers import ExternalIssuerServer, claims_for, sign_claims
from tests.support.world import World, make_token
from ztd.server.app import create_app
from ztd.server.auth.keys import KeyStore
from ztd.server.clock import utc_now
from ztd.server.settings import ExternalIssuer, Settings
from ztd.server.storage.database import Database


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{part(claims)}."


def _hs256_with_public_key(settings: Settings, claims: dict[str, Any]) -> str:
    """The classic key-confusion forgery: HMAC keyed with the server's public key."""
    key = KeyStore(settings.data_dir / "keys").current()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    segments = [
        base64.urlsafe_b64encode(json.dumps(x).encode()).decode().rstrip("=")
        for x in (header, claims)
    ]
    import hashlib
    import hmac

    signature = hmac.new(public_pem, ".".join(segments).encode(), hashlib.sha256).digest()
    return ".".join([*segments, base64.urlsafe_b64encode(signature).decode().rstrip("=")])


FORGERIES = [
    "bad_signature",
    "alg_none",
    "hs256_with_public_key",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "unknown_kid",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_tokens_are_401(
    client: TestClient, world: World, settings: Settings, forgery: str
) -> None:
    now = int(utc_now().timestamp())
    claims = claims_for(settings, world)
    if forgery == "bad_signature":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = KeyStore(settings.data_dir / "keys").current().kid
        token = jwt.encode(claims, other, algorithm="RS256", headers={"kid": kid})
    elif forgery == "alg_none":
        token = _unsigned(claims, KeyStore(settings.data_dir / "keys").current().kid)
    elif forgery == "hs256_with_public_key":
        token = _hs256_with_public_key(settings, claims)
    elif forgery == "expired":
        token = sign_claims(settings, {**claims, "iat": now - 7200, "exp": now - 3600})
    elif forgery == "not_yet_valid":
        token = sign_claims(settings, {**claims, "nbf": now + 3600, "exp": now + 7200})
    elif forgery == "wrong_audience":
        token = sign_claims(settings, {**claims, "aud": "https://graph.microsoft.com"})
    elif forgery == "wrong_issuer":
        token = sign_claims(settings, {**claims, "iss": "https://evil.example"})
    else:
        token = sign_claims(settings, claims, headers={"kid": "no-such-key"})
    response = client.get(
        f"/v1/customers/{world.customer}/deviceBatches",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(response, 401, "400")
    # The genuine token for the same claims works: the refusal is about the forgery.
    genuine = client.get(
        f"/v1/customers/{world.customer}/deviceBatches",
        headers={"Authorization": f"Bearer {sign_claims(settings, claims)}"},
    )
    assert genuine.status_code == 200


def test_rotated_keys_keep_old_tokens_valid(
    client: TestClient, world: World, settings: Settings
) -> None:
    old = make_token(settings, world.partner)
    keys = KeyStore(settings.data_dir / "keys")
    keys.rotate()
    new = make_token(settings, world.partner)
    assert jwt.get_unverified_header(old)["kid"] != jwt.get_unverified_header(new)["kid"]
    for token in (old, new):
        response = client.get(
            f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth(token)
        )
        assert response.status_code == 200
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert {jwt.get_unverified_header(t)["kid"] for t in (old, new)} <= published
    expired_old = make_token(settings, world.partner, ttl=timedelta(seconds=-120))
    response = client.get(
        f"/v1/customers/{world.customer}/deviceBatches", headers=world.auth(expired_old)
    )
    assert response.status_code == 401


def test_discovery_document(client: TestClient, settings: Settings) -> None:
    config = client.get("/.well-known/openid-configuration").json()
    assert config["issuer"] == settings.issuer
    assert config["jwks_uri"].endswith("/.well-known/jwks.json")
    assert config["token_endpoint"].endswith("/oauth2/token")
    assert "client_credentials" in config["grant_types_supported"]


def test_external_issuer_tokens_are_trusted_by_configuration(
    db: Database,
    settings: Settings,
    world: World,
    external_issuer: tuple[ExternalIssuerServer, str],
) -> None:
    server, jwks_uri = external_issuer
    settings.trusted_issuers = [
        ExternalIssuer(
            issuer=server.issuer,
            audience="https://api.partnercenter.microsoft.com",
            jwks_uri=jwks_uri,
            role_map={"AdminAgent": "admin-agent", "SalesAgent": "sales-agent"},
        )
    ]
    now = int(utc_now().timestamp())
    base_claims = {
        "iss": server.issuer,
        "aud": "https://api.partnercenter.microsoft.com",
        "tid": world.partner.upper(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    app = create_app(settings, db=db, embedded_worker=False)
    url = f"/v1/customers/{world.customer}/deviceBatches"
    with TestClient(app) as client:
        admin = server.token(**base_claims, roles=["AdminAgent"])
        assert client.get(url, headers=world.auth(admin)).status_code == 200
        sales = server.token(**base_claims, roles=["SalesAgent"])
        assert client.get(url, headers=world.auth(sales)).status_code == 200
        refused = client.post(
            url, json={"batchId": "x", "devices": [{}]}, headers=world.auth(sales)
        )
        assert_error(refused, 403, "900150")
        nobody = server.token(**base_claims, roles=["Reader"])
        assert_error(client.get(url, headers=world.auth(nobody)), 403, "900150")
        wrong_aud = server.token(**{**base_claims, "aud": "api://other"}, roles=["AdminAgent"])
        assert_error(client.get(url, headers=world.auth(wrong_aud)), 401, "400")
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(
            {**base_claims, "roles": ["AdminAgent"]},
            other_key,
            algorithm="RS256",
            headers={"kid": "entra-1"},
        )
        assert_error(client.get(url, headers=world.auth(forged)), 401, "400")
        # A tenant the issuer vouches for but nobody registered here: a clear 403, not a 500.
        stranger = server.token(
            **{**base_claims, "tid": "0d1e2f3a-0000-4000-8000-00000000abcd"}, roles=["AdminAgent"]
        )
        body = {"companyProfile": {"domain": "new.example"}}
        refused_create = client.post("/v1/customers", json=body, headers=world.auth(stranger))
        assert "is not registered" in assert_error(refused_create, 403, "900150")["description"]
