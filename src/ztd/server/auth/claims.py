"""The types a token's claims must have (RFC 7519 §4.1, and the Entra ID claims ztd reads).

A token that verified is still only as good as its claims: a signed ``exp`` of ``"9999"``, a
``roles`` claim holding one string or a ``tid`` that is a number is not something to guess
about. Every such token is refused as invalid (401), naming the claim and what it must be.
"""

from __future__ import annotations

import math
from typing import Any

from ztd.server.storage.ids import maybe_guid


class ClaimTypeError(ValueError):
    """A claim is present with the wrong type."""


_NUMERIC_DATES = ("exp", "nbf", "iat")
_STRINGS = ("iss", "sub", "jti")


def check_claim_types(
    claims: dict[str, Any], *, tenant_claim: str, roles_claim: str, app_claim: str
) -> None:
    """Raise ClaimTypeError for the first claim of the wrong type. Absent optional claims are
    fine; whether a claim is required is checked where the token is decoded."""
    for name in _NUMERIC_DATES:
        if name in claims:
            _numeric_date(name, claims[name])
    for name in (*_STRINGS, app_claim):
        if name in claims and not isinstance(claims[name], str):
            raise ClaimTypeError(f"the {name!r} claim must be a string, not {_kind(claims[name])}")
    if "aud" in claims:
        audience = claims["aud"]
        if not isinstance(audience, str) and not _strings(audience):
            raise ClaimTypeError(
                f"the 'aud' claim must be a string or an array of strings, not {_kind(audience)}"
            )
    if tenant_claim in claims:
        tenant_id(claims, tenant_claim)
    if roles_claim in claims and not _strings(claims[roles_claim]):
        raise ClaimTypeError(
            f"the {roles_claim!r} claim must be an array of strings, "
            f"not {_kind(claims[roles_claim])}"
        )


def tenant_id(claims: dict[str, Any], tenant_claim: str) -> str:
    """The tenant the token speaks for, as ztd spells ids: a lowercase GUID."""
    value = claims[tenant_claim]
    if not isinstance(value, str):
        raise ClaimTypeError(f"the {tenant_claim!r} claim must be a string, not {_kind(value)}")
    guid = maybe_guid(value)
    if guid is None:
        raise ClaimTypeError(
            f"the {tenant_claim!r} claim must be a tenant id (a GUID), not {value[:64]!r}"
        )
    return guid


def roles_of(claims: dict[str, Any], roles_claim: str) -> list[str]:
    """The role names in the token (checked to be an array of strings), or none."""
    value = claims.get(roles_claim, [])
    return list(value) if _strings(value) else []


def _numeric_date(name: str, value: object) -> None:
    # A NumericDate is a JSON number (fractions allowed). bool is an int to Python, and
    # Python's JSON reader turns Infinity and NaN into floats: neither is a date.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimTypeError(
            f"the {name!r} claim must be a number (NumericDate), not {_kind(value)}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ClaimTypeError(f"the {name!r} claim must be a finite number, not {value}")


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _kind(value: object) -> str:
    """The JSON type of a decoded value, as the error message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value[:64]!r}"
    if isinstance(value, list):
        return "an array" if _strings(value) else "an array holding a non-string"
    return "an object"
