"""Issuing and validating bearer tokens (JWT, RS256).

A token names the partner tenant (``tid``), whether it is app-only (``idtyp: app``) or a
user's, and the user's roles, like the Entra ID tokens Partner Center accepts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from ztd.server.auth.keys import KeyStore

ALLOWED_ALGORITHMS = ["RS256"]  # never "none", never HMAC: no key-confusion attacks
LEEWAY_SECONDS = 60


class Role(StrEnum):
    GLOBAL_ADMIN = "global-admin"
    ADMIN_AGENT = "admin-agent"
    SALES_AGENT = "sales-agent"


@dataclass(frozen=True)
class Principal:
    partner_id: str
    app_only: bool
    roles: frozenset[Role]
    subject: str


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not for this service."""


def issue_token(
    keys: KeyStore,
    *,
    issuer: str,
    audience: str,
    partner_id: str,
    roles: tuple[Role, ...] = (Role.ADMIN_AGENT,),
    app_only: bool = False,
    ttl: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    key = keys.current()
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": audience,
        "tid": partner_id,
        "sub": str(uuid.uuid4()),
        "idtyp": "app" if app_only else "user",
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    if not app_only:
        claims["roles"] = [role.value for role in roles]
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def validate_token(token: str, keys: KeyStore, *, issuer: str, audience: str) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
    key = keys.by_kid(str(header.get("kid", "")))
    if key is None:
        raise InvalidToken("the token's signing key (kid) is unknown")
    try:
        claims = jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=ALLOWED_ALGORITHMS,
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "tid"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    roles = frozenset(Role(r) for r in claims.get("roles", []) if r in Role._value2member_map_)
    return Principal(
        partner_id=str(claims["tid"]),
        app_only=claims.get("idtyp") == "app",
        roles=roles,
        subject=str(claims.get("sub", "")),
    )
