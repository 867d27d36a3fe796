"""Rules for the ``productKey`` / "Windows Product ID" column.

Three different things arrive in this column:

* a PKID (product key id): 13 digits, also record 24 of the hash. This is what Autopilot and
  Partner Center mean, so it is the canonical form.
* a 25-character Windows license key (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX). It is a secret and not an
  identifier; it is refused and never echoed back in full.
* a Product ID (PID) such as 00329-00000-0003-AA606. Partner Center's own samples use this
  shape, so it is kept as given, with a warning.

Anything else (a key of 3, 12 or 14 digits, "N/A", letters) is refused: it names no machine,
so a device sent with only it is unidentified (DDS 803) on upload and in `ztd csv check` alike,
and a device with a hash or serial + manufacturer + model keeps those, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ztd.identity.diagnostics import Diagnostic

__all__ = ["MAX_PRODUCT_KEY_LEN", "ProductKeyCheck", "check_product_key", "is_pkid"]

# Longest value kept as a product key (the registry column holds 64 characters).
MAX_PRODUCT_KEY_LEN: Final = 64

# ASCII digits only: \d would also take fullwidth or Arabic-Indic digits, giving one machine
# a second, different key.
_PKID: Final = re.compile(r"[0-9]{13}")
# Separators people type or scanners add between digit groups of a PKID.
_PKID_SEPARATED: Final = re.compile(r"[0-9][0-9 -]{11,}[0-9]")
# Shape of a license key: five groups of five letters/digits, dashes optional. The shape alone
# decides: even a key outside the base-24 alphabet should not be uploaded as an identifier.
_LICENSE_KEY: Final = re.compile(r"[A-Za-z0-9]{5}(?:[-\s_\u2013]?[A-Za-z0-9]{5}){4}")
_PID: Final = re.compile(r"[0-9]{5}-[0-9]{5}-[0-9]{4,5}-[A-Za-z]{2}[0-9]{3,4}")


@dataclass(frozen=True, slots=True)
class ProductKeyCheck:
    """``key`` is what to register (None when absent or refused); ``error`` refuses the value."""

    key: str | None
    error: Diagnostic | None
    warnings: tuple[Diagnostic, ...]


_ABSENT: Final = ProductKeyCheck(None, None, ())


def is_pkid(value: str) -> bool:
    """True for a canonical 13-digit product key id."""
    return _PKID.fullmatch(value) is not None


def check_product_key(value: str | None) -> ProductKeyCheck:
    """Classify a product key column value (None/blank means absent)."""
    if value is None:
        return _ABSENT
    v = value.strip()
    if not v:
        return _ABSENT
    if _PKID.fullmatch(v):
        return ProductKeyCheck(v, None, ())
    if not v.isprintable():  # control characters: never part of a key anyone typed or read
        return ProductKeyCheck(
            None,
            Diagnostic(
                "product-key-control-characters",
                "the product key contains control characters; a product key id (PKID) is 13 digits",
            ),
            (),
        )
    if len(v) > MAX_PRODUCT_KEY_LEN:
        return ProductKeyCheck(
            None,
            Diagnostic(
                "product-key-too-long",
                f"the product key is {len(v)} characters; a product key id (PKID) is 13 "
                f"digits and at most {MAX_PRODUCT_KEY_LEN} characters are accepted",
            ),
            (),
        )
    if _PKID_SEPARATED.fullmatch(v):
        digits = v.replace(" ", "").replace("-", "")
        if len(digits) == 13:
            return ProductKeyCheck(
                digits,
                None,
                (
                    Diagnostic(
                        "pkid-reformatted",
                        f"product key id {v!r} was read as {digits} (separators removed)",
                    ),
                ),
            )
    if _PID.fullmatch(v):
        return ProductKeyCheck(
            v,
            None,
            (
                Diagnostic(
                    "pid-not-pkid",
                    f"{v!r} looks like a Windows Product ID (PID), not a 13-digit product key "
                    "id (PKID); it is kept as given",
                ),
            ),
        )
    if _LICENSE_KEY.fullmatch(v):
        return ProductKeyCheck(
            None,
            Diagnostic(
                "license-key",
                f"the product key column holds a 25-character Windows license key "
                f"(ending {v[-5:]!r}); license keys are secrets and not device identifiers. "
                "Send the 13-digit product key id (PKID) instead",
            ),
            (),
        )
    return ProductKeyCheck(None, _not_a_pkid(v), ())


def _not_a_pkid(v: str) -> Diagnostic:
    digits = v.replace(" ", "").replace("-", "")
    ascii_digits = digits.isascii() and digits.isdigit()
    shape = f"{len(digits)} digits" if ascii_digits else "not 13 ASCII digits"
    return Diagnostic(
        "product-key-not-pkid",
        f"product key {v!r} is {shape}; a product key id (PKID) is 13 digits",
    )
