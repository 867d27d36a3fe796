"""Checks on a hardware hash beyond its structure.

``decode_hash`` answers "is this a well-formed hash?"; ``validate_hash`` answers "would
Microsoft accept it, and does it agree with the rest of the device row?". Errors mean the
device cannot be registered with this hash (DDS 802, InvalidZtdHardwareHash); warnings are worth
showing but do not block registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ztd.identity.diagnostics import Diagnostic
from ztd.identity.hardware_hash import DecodedHash, HashDecodeError, decode_hash
from ztd.identity.key_text import fold, unusual_characters
from ztd.identity.placeholders import (
    PLACEHOLDER_SERIALS,
    RECAPTURE_ADVICE,
    is_placeholder_serial,
    is_placeholder_uuid,
)
from ztd.identity.records import STANDARD_BYTES, STANDARD_CHARS

__all__ = [
    "MAX_TEXT_LEN",
    "PLACEHOLDER_SERIALS",
    "HashCheck",
    "has_control_characters",
    "is_placeholder_serial",
    "is_placeholder_uuid",
    "placeholder_serial_warning",
    "unusual_text_warning",
    "validate_hash",
]

# Longest serial / manufacturer / model accepted. No limit is published; real SMBIOS
# strings stay under 64 characters, and the registry stores 256.
MAX_TEXT_LEN: Final = 256
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class HashCheck:
    """Outcome of validate_hash: ``decoded`` is None when the structure itself is broken."""

    decoded: DecodedHash | None
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def has_control_characters(value: str) -> bool:
    """True when ``value`` holds C0 controls or DEL (never part of a real SMBIOS string)."""
    # isprintable() is a fast C pre-check; it is also False for harmless non-ASCII spaces.
    return not value.isprintable() and _CONTROL.search(value) is not None


def placeholder_serial_warning(serial: str, where: str) -> Diagnostic:
    """The warning for a firmware placeholder serial (``where``: "the hash's", "the")."""
    return Diagnostic(
        "placeholder-serial",
        f"{where} serial number {serial!r} is a firmware placeholder, not a real serial, "
        f"shared by many machines; {RECAPTURE_ADVICE}",
    )


def unusual_text_warning(what: str, value: str, where: str) -> Diagnostic | None:
    """A warning naming the non-ASCII characters of a serial or manufacturer, or None.

    Real SMBIOS strings are ASCII; other characters are usually look-alikes pasted in by
    accident (or on purpose). The identity key sees through them (``key_text``)."""
    if value.isascii():
        return None
    found = unusual_characters(value)
    shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    return Diagnostic(
        f"non-ascii-{what.split()[0]}",
        f"{where} {what} {value!r} contains {shown}; it is matched as {fold(value)!r}",
    )


def _compare(
    what: str, code: str, column: str | None, in_hash: str | None, out: list[Diagnostic]
) -> None:
    """Warn when a CSV column disagrees with the hash; say whether only letter case differs."""
    if column is None or in_hash is None:
        return
    given = column.strip()
    if not given or given == in_hash:
        return
    if given.casefold() == in_hash.casefold():
        out.append(
            Diagnostic(
                code,
                f"{what} {given!r} differs from the hash's {in_hash!r} only in letter case "
                "(the manufacturer/model/serial tuple is case-sensitive)",
            )
        )
    else:
        out.append(Diagnostic(code, f"{what} {given!r} differs from the hash's {in_hash!r}"))


def _text_errors(d: DecodedHash, errors: list[Diagnostic]) -> None:
    """Identity strings no SMBIOS table holds: overlong, or with control characters."""
    for code, what, value in (
        ("serial-too-long", "serial number", d.serial),
        ("manufacturer-too-long", "manufacturer", d.manufacturer),
        ("model-too-long", "model", d.model),
    ):
        if value is None:
            continue
        if len(value) > MAX_TEXT_LEN:
            errors.append(
                Diagnostic(
                    code,
                    f"the hash's {what} is {len(value)} characters; SMBIOS strings are short "
                    f"and at most {MAX_TEXT_LEN} are accepted",
                )
            )
        if has_control_characters(value):
            errors.append(
                Diagnostic(
                    "control-characters",
                    f"the hash's {what} {value[:40]!r} contains control characters",
                )
            )


def validate_hash(
    text: str,
    *,
    serial_number: str | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    with_warnings: bool = True,
) -> HashCheck:
    """Decode ``text`` and report what would make Microsoft reject it, or merely look wrong.

    The optional arguments are the CSV/API columns of the same device; they are compared with
    the values inside the hash (mismatches are warnings). Never raises for bad input.
    Without ``with_warnings`` only errors are reported, and ``decoded`` lacks the fields only
    warnings use (see ``decode_hash(identity_only=True)``): the server's registration path.
    """
    try:
        d = decode_hash(text, identity_only=not with_warnings)
    except HashDecodeError as exc:
        return HashCheck(None, (Diagnostic(exc.code, exc.message),), ())

    errors: list[Diagnostic] = []
    if not d.checksum_ok:
        errors.append(
            Diagnostic(
                "checksum-mismatch",
                "the SHA-256 in the CS trailer does not match the hash contents "
                "(the hash was altered or damaged)",
            )
        )
    serial, maker, model_name = d.serial, d.manufacturer, d.model
    if not serial:
        errors.append(Diagnostic("missing-serial", "the hash has no SMBIOS serial number"))
    if not maker:
        errors.append(
            Diagnostic("missing-manufacturer", "the hash has no SMBIOS system manufacturer")
        )
    # One cheap test covers the normal case; the detailed one runs only when it fails.
    if not (
        (serial is None or (len(serial) <= MAX_TEXT_LEN and serial.isprintable()))
        and (maker is None or (len(maker) <= MAX_TEXT_LEN and maker.isprintable()))
        and (model_name is None or (len(model_name) <= MAX_TEXT_LEN and model_name.isprintable()))
    ):
        _text_errors(d, errors)
    if not with_warnings:
        return HashCheck(d, tuple(errors), ())

    warnings: list[Diagnostic] = []
    if serial and is_placeholder_serial(serial):
        warnings.append(placeholder_serial_warning(serial, "the hash's"))
    for what, value in (("serial number", serial), ("manufacturer", maker)):
        unusual = unusual_text_warning(what, value, "the hash's") if value else None
        if unusual is not None:
            warnings.append(unusual)
    if d.smbios_uuid is None:
        warnings.append(Diagnostic("missing-uuid", "the hash has no SMBIOS UUID"))
    elif is_placeholder_uuid(d.smbios_uuid):
        warnings.append(
            Diagnostic("placeholder-uuid", f"the SMBIOS UUID {d.smbios_uuid} is a placeholder")
        )
    if not model_name:
        warnings.append(Diagnostic("missing-model", "the hash has no SMBIOS product name"))
    if not d.mac_addresses:
        warnings.append(Diagnostic("missing-mac", "the hash lists no network adapter MAC"))
    if not d.disk_serials:
        warnings.append(Diagnostic("missing-disk-serial", "the hash has no disk serial number"))
    if not d.has_tpm_records:
        warnings.append(
            Diagnostic(
                "no-tpm",
                "the hash has no TPM records; self-deploying and pre-provisioning will fail",
            )
        )
    if d.byte_length != STANDARD_BYTES:
        warnings.append(
            Diagnostic(
                "unusual-length",
                f"the hash decodes to {d.byte_length} bytes; Get-WindowsAutopilotInfo hashes "
                f"are {STANDARD_BYTES} bytes ({STANDARD_CHARS} characters)",
            )
        )
    if serial_number is not None or manufacturer is not None or model is not None:
        _compare("serial number", "serial-mismatch", serial_number, serial, warnings)
        _compare("manufacturer", "manufacturer-mismatch", manufacturer, maker, warnings)
        _compare("model", "model-mismatch", model, model_name, warnings)
    return HashCheck(d, tuple(errors), tuple(warnings))
