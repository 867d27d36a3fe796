"""Tokens built claim by claim: the built-in issuer's key signing chosen claims, and a second
OIDC issuer with its own key, publishing its JWKS over HTTP."""

from __future__ import annotations

from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.world import World
from ztd.server.auth.keys import KeyStore
from ztd.server.clock import utc_now
from ztd.server.settings import Settings


def claims_for(settings: Settings, world: World, **overrides: Any) -> dict[str, Any]:
    """Valid claims of an admin-agent user of ``world.partner`` for the built-in issuer."""
    now = int(utc_now().timestamp())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "tid": world.partner,
        "idtyp": "user",
        "roles": ["admin-agent"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def sign_claims(settings: Settings, claims: dict[str, Any], **kwargs: Any) -> str:
    """``claims`` signed with the built-in issuer's current key (``headers=`` adds some)."""
    key = KeyStore(settings.data_dir / "keys").current()
    headers = {"kid": key.kid, **kwargs.pop("headers", {})}
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)


class ExternalIssuerServer:
    """A second OIDC issuer with its own RSA key, publishing its JWKS over HTTP."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": "entra-1", "use": "sig", "alg": "RS256"}]}
        self.issuer = "https://login.example.test/tenant-x/v2.0"

        async def jwks(_request: Any) -> JSONResponse:
            return JSONResponse(self.jwks)

        self.app = Starlette(routes=[Route("/discovery/v2.0/keys", jwks)])

    def token(self, **claims: Any) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "entra-1"})
