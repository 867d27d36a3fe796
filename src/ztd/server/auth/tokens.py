"""Issuing and validating bearer tokens (JWT, RS256).

A token names the partner tenant (``tid``), whether it is app-only (``idtyp: app``) or a
user's, and the user's roles, like the Entra ID tokens Partner Center accepts.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from ztd.server.auth.claims import ClaimTypeError, check_claim_types, roles_of, tenant_id
from ztd.server.auth.keys import SigningKeys
from ztd.server.errors import shown
from ztd.server.settings import ExternalIssuer, Settings

ALLOWED_ALGORITHMS = ["RS256"]  # never "none", never HMAC: no key-confusion attacks
LEEWAY_SECONDS = 60
VERIFIED_CACHE_SIZE = 10_000
JWKS_REFETCH_SECONDS = 10.0


class Role(StrEnum):
    GLOBAL_ADMIN = "global-admin"
    ADMIN_AGENT = "admin-agent"
    SALES_AGENT = "sales-agent"
    # ztd's own: drives the emulator's control plane (/_ztd/v1/), never a partner API.
    OPERATOR = "ztd-operator"


OPERATOR_TENANT = "00000000-0000-0000-0000-000000000000"  # the tid of operator tokens


@dataclass(frozen=True)
class Principal:
    partner_id: str
    app_only: bool
    roles: frozenset[Role]
    subject: str
    expires_at: float = float("inf")  # the token's exp, as a POSIX timestamp


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not for this service."""


def issue_token(
    keys: SigningKeys,
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


class TokenValidator:
    """Validates tokens of the built-in issuer and of trusted external OIDC issuers.

    The issuer named in the (not yet verified) token only selects which keys and rules to
    verify with; nothing in the token is trusted before its signature checks out.
    """

    def __init__(self, settings: Settings, keys: SigningKeys) -> None:
        self.settings = settings
        self.keys = keys
        self.external = {
            issuer.issuer: (issuer, jwt.PyJWKClient(issuer.jwks_uri, cache_keys=True, lifespan=300))
            for issuer in settings.trusted_issuers
        }
        self._verified: dict[str, tuple[Principal, str | None]] = {}
        self._jwks_refetched: dict[str, float] = {}  # issuer -> when its keys were last fetched

    def validate(self, token: str) -> Principal:
        """The token's principal. A token that verified once is remembered until it expires:
        verifying an RS256 signature costs more than answering a status poll."""
        cached = self.cached(token)
        if cached is not None:
            return cached
        principal, builtin_kid = self._verify_token(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, builtin_kid)
        return principal

    def cached(self, token: str) -> Principal | None:
        """The principal of a token that verified before and still holds, without verifying
        anything: the status fast lane runs on the event loop, where a key lookup or a JWKS
        fetch must not happen. A built-in token stops holding once its key file is deleted
        (a revoked key), which the key store notices within seconds."""
        entry = self._verified.get(token)
        if entry is None:
            return None
        principal, builtin_kid = entry
        if time.time() >= principal.expires_at + LEEWAY_SECONDS:
            return None
        if builtin_kid is not None and not self.keys.holds(builtin_kid):
            return None
        return principal

    def _verify_token(self, token: str) -> tuple[Principal, str | None]:
        """The principal, and the kid when the built-in issuer signed it."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {shown(header.get('alg'))} is not accepted")
        kid = str(header.get("kid", ""))
        issuer = unverified.get("iss")
        if issuer == self.settings.issuer:
            _check_types(unverified, "tid", "roles", "idtyp")
            return self._builtin(token, kid), kid
        if isinstance(issuer, str) and issuer in self.external:
            rules = self.external[issuer][0]
            _check_types(unverified, rules.tenant_claim, rules.roles_claim, rules.app_claim)
            return self._external(token, kid, *self.external[issuer]), None
        raise InvalidToken(f"issuer {shown(issuer)} is not trusted")

    def _builtin(self, token: str, kid: str) -> Principal:
        key = self.keys.by_kid(kid)
        if key is None:
            # The usual cause: a token made by `ztd admin token` or `ztd serve --demo` with
            # another data directory, whose keys this server never saw.
            raise InvalidToken(
                f"it is signed by a key this server does not know (kid {shown(kid)}): was it made "
                "with another ZTD_DATA_DIR? Make one with `ztd admin token` run with this "
                "server's ZTD_DATA_DIR"
            )
        claims = _verify(
            token, key.private_key.public_key(), self.settings.issuer, self.settings.audience
        )
        roles = frozenset(Role(r) for r in roles_of(claims, "roles") if r in _ROLE_VALUES)
        return Principal(
            partner_id=tenant_id(claims, "tid"),
            app_only=claims.get("idtyp") == "app",
            roles=roles,
            subject=str(claims.get("sub", "")),
            expires_at=float(claims["exp"]),
        )

    def _external(
        self, token: str, kid: str, issuer: ExternalIssuer, jwks: jwt.PyJWKClient
    ) -> Principal:
        key = self._external_key(issuer, jwks, kid)
        claims = _verify(token, key, issuer.issuer, issuer.audience, tenant=issuer.tenant_claim)
        mapped = (issuer.role_map.get(r) for r in roles_of(claims, issuer.roles_claim))
        roles = frozenset(Role(r) for r in mapped if r in _ROLE_VALUES)
        return Principal(
            partner_id=tenant_id(claims, issuer.tenant_claim),
            app_only=claims.get(issuer.app_claim) == "app",
            roles=roles,
            subject=str(claims.get("sub", "")),
            expires_at=float(claims["exp"]),
        )

    def _external_key(self, issuer: ExternalIssuer, jwks: jwt.PyJWKClient, kid: str) -> Any:
        """The issuer's key ``kid``, from its cached key set. An unknown kid refetches the
        set (the issuer may have rotated) at most once per JWKS_REFETCH_SECONDS: otherwise
        every forged token would make this service fetch from the issuer."""
        try:
            found = jwks.match_kid(jwks.get_signing_keys(), kid)
            last = self._jwks_refetched.get(issuer.issuer, -math.inf)
            if found is None and time.monotonic() - last > JWKS_REFETCH_SECONDS:
                self._jwks_refetched[issuer.issuer] = time.monotonic()
                found = jwks.match_kid(jwks.get_signing_keys(refresh=True), kid)
        except jwt.PyJWKClientError as exc:
            raise InvalidToken(f"the issuer's signing keys are unavailable: {exc}") from exc
        if found is None:
            raise InvalidToken("the token's signing key (kid) is unknown")
        return found.key


_ROLE_VALUES = {role.value for role in Role}


def _verify(
    token: str, key: Any, issuer: str, audience: str, *, tenant: str = "tid"
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALLOWED_ALGORITHMS,
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", tenant]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return claims


def _check_types(claims: dict[str, Any], tenant: str, roles: str, app: str) -> None:
    # Checked before the signature: the types of a payload do not depend on who signed it,
    # and a wrong one is then named precisely instead of surfacing as a PyJWT message or a 500.
    try:
        check_claim_types(claims, tenant_claim=tenant, roles_claim=roles, app_claim=app)
    except ClaimTypeError as exc:
        raise InvalidToken(str(exc)) from exc
