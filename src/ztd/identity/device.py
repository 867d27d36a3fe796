"""Can this device entry be registered, and under which identity?

This is the one function the server calls per device. It applies the Partner Center rule
: a device must carry at least one of

1. hardwareHash + productKey          4. hardwareHash only
2. hardwareHash + serialNumber        5. productKey only
3. hardwareHash + productKey + serial 6. serialNumber + oemManufacturerName + modelName

which reduces to: a valid hash, or a usable product key, or the full manufacturer/model/serial
tuple. Extra fields never hurt. A hash that is present is always checked, even when another
identifier would suffice, because registering a broken hash is what Microsoft rejects (802).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from ztd.identity import dds
from ztd.identity.dds import DdsError
from ztd.identity.diagnostics import Diagnostic
from ztd.identity.hardware_hash import DecodedHash, decode_hash
from ztd.identity.key_text import fold
from ztd.identity.placeholders import RECAPTURE_ADVICE, is_placeholder_serial, is_placeholder_uuid
from ztd.identity.product_key import ProductKeyCheck, check_product_key, is_pkid
from ztd.identity.validation import (
    MAX_TEXT_LEN,
    has_control_characters,
    placeholder_serial_warning,
    unusual_text_warning,
    validate_hash,
)

__all__ = [
    "KEY_SEPARATOR",
    "MAX_KEY_LEN",
    "DeviceFields",
    "DeviceIdentity",
    "FirstCopies",
    "analyze_device",
    "hardware_key",
    "identity_of",
]

# ASCII unit separator: cannot occur in SMBIOS strings, so "a\x1fbc" and "ab\x1fc" never clash.
KEY_SEPARATOR = "\x1f"
# Longest hardware_key handed out (the registry's column holds 520 characters).
MAX_KEY_LEN = 520


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """The verdict on one device entry.

    ``error`` is dds.INVALID_HARDWARE_HASH (802) or dds.MISSING_SERIAL_AND_PRODUCT_KEY (803) when
    the entry cannot be registered as sent, with the precise reason in ``detail``.
    ``hardware_key`` identifies the physical machine across uploads ("manufacturer\\x1fserial"
    in ``key_text.fold`` form, plus the SMBIOS UUID for a placeholder serial): taken from
    inside the hash when one is given, since a hash string differs on every read of the same
    machine, else from the tuple columns.
    """

    error: DdsError | None
    hardware_key: str | None
    pkid: str | None
    serial_number: str | None
    manufacturer: str | None
    model: str | None
    detail: str | None
    warnings: tuple[Diagnostic, ...]


P = TypeVar("P")


class DeviceFields(Protocol):
    """A device as the API names its fields: the wire ``Device``, the server's upload rows."""

    @property
    def serial_number(self) -> str | None: ...
    @property
    def product_key(self) -> str | None: ...
    @property
    def hardware_hash(self) -> str | None: ...
    @property
    def oem_manufacturer_name(self) -> str | None: ...
    @property
    def model_name(self) -> str | None: ...


def identity_of(device: DeviceFields, *, with_warnings: bool = True) -> DeviceIdentity:
    """``analyze_device`` for a device with the API's field names."""
    return analyze_device(
        serial_number=device.serial_number,
        product_key=device.product_key,
        hardware_hash=device.hardware_hash,
        manufacturer=device.oem_manufacturer_name,
        model=device.model_name,
        with_warnings=with_warnings,
    )


class FirstCopies(Generic[P]):
    """The first copy of each machine in one upload. Intune registers the first copy of a
    device and fails the others (ZtdDeviceDuplicated); the server, ``ztd csv check`` and
    ``ztd upload`` all judge copies here. Hardware keys and PKIDs are looked up apart."""

    def __init__(self) -> None:
        self._by_key: dict[str, P] = {}
        self._by_pkid: dict[str, P] = {}

    def earlier(
        self, identity: DeviceIdentity, position: P
    ) -> tuple[Literal["hardware_key", "pkid"], P] | None:
        """None for a first copy, which is remembered at ``position``; for a later copy,
        which key it shares and the first copy's position."""
        key, pkid = identity.hardware_key, identity.pkid
        if key is not None and key in self._by_key:
            return "hardware_key", self._by_key[key]
        if pkid is not None and pkid in self._by_pkid:
            return "pkid", self._by_pkid[pkid]
        if key is not None:
            self._by_key[key] = position
        if pkid is not None:
            self._by_pkid[pkid] = position
        return None


def hardware_key(manufacturer: str, serial: str) -> str:
    """The identity key of a machine: manufacturer and serial, each in its ``key_text.fold``
    form (stripped, NFKC, invisible characters removed, look-alikes mapped, casefolded), so
    "XT12345678" with a Cyrillic TE (U+0422) or a zero-width space in it is still "XT12345678".
    The registry, the OEM registry and duplicate detection all key on this."""
    return fold(manufacturer) + KEY_SEPARATOR + fold(serial)


def _present(value: str | None) -> str | None:
    """Empty and whitespace-only strings count as absent; others are stripped."""
    if value is None:
        return None
    v = value.strip()
    return v or None


def _usable(what: str, value: str | None, warnings: list[Diagnostic]) -> str | None:
    """A column value that no real SMBIOS string looks like (too long, control characters)
    cannot identify a device: drop it, with a warning."""
    if value is None:
        return None
    if len(value) > MAX_TEXT_LEN:
        warnings.append(
            Diagnostic(
                f"{what.replace(' ', '-')}-too-long",
                f"the {what} is {len(value)} characters; at most {MAX_TEXT_LEN} are accepted, "
                "so it is ignored",
            )
        )
        return None
    if has_control_characters(value):
        warnings.append(
            Diagnostic(
                "control-characters",
                f"the {what} {value[:40]!r} contains control characters, so it is ignored",
            )
        )
        return None
    return value


def analyze_device(
    *,
    serial_number: str | None,
    product_key: str | None,
    hardware_hash: str | None,
    manufacturer: str | None,
    model: str | None,
    with_warnings: bool = True,
) -> DeviceIdentity:
    """Decide whether a device entry is registrable and derive its identity. Never raises.
    Without ``with_warnings`` the hash is checked for errors only (faster; the server)."""
    pk = check_product_key(product_key)
    warnings: list[Diagnostic] = list(pk.warnings)
    serial = _usable("serial number", _present(serial_number), warnings)
    maker = _usable("manufacturer", _present(manufacturer), warnings)
    model_name = _usable("model", _present(model), warnings)
    hash_text = _present(hardware_hash)
    if hash_text is not None:
        return _from_hash(hash_text, pk, serial, maker, model_name, warnings, with_warnings)
    return _from_columns(pk, serial, maker, model_name, warnings)


def _from_hash(
    hash_text: str,
    pk: ProductKeyCheck,
    serial: str | None,
    maker: str | None,
    model_name: str | None,
    warnings: list[Diagnostic],
    with_warnings: bool = True,
) -> DeviceIdentity:
    """Combinations 1-4: the hash decides, and the identity comes from inside it."""
    check = validate_hash(
        hash_text,
        serial_number=serial,
        manufacturer=maker,
        model=model_name,
        with_warnings=with_warnings,
    )
    d = check.decoded
    warnings.extend(check.warnings)
    if with_warnings and d is not None:
        # The hash's own values were looked at by validate_hash; a column that differs is not.
        for what, column, in_hash in (
            ("serial number", serial, d.serial),
            ("manufacturer", maker, d.manufacturer),
        ):
            unusual = None if column == in_hash else _unusual_column(what, column)
            if unusual is not None:
                warnings.append(unusual)
    if check.errors or d is None:
        reason = "; ".join(e.message for e in check.errors)
        return _refused(dds.INVALID_HARDWARE_HASH, reason, pk, serial, maker, model_name, warnings)
    # validate_hash guarantees a non-empty serial and manufacturer when it reports no error.
    assert d.serial is not None and d.manufacturer is not None
    key = hardware_key(d.manufacturer, d.serial)
    if is_placeholder_serial(d.serial):
        key = _placeholder_serial_key(key, d, hash_text)
    if len(key) > MAX_KEY_LEN:  # only reachable through casefold expansion (e.g. "ß")
        reason = (
            f"the hash's manufacturer and serial number make a {len(key)}-character identity "
            f"key; at most {MAX_KEY_LEN} are accepted"
        )
        return _refused(dds.INVALID_HARDWARE_HASH, reason, pk, serial, maker, model_name, warnings)
    if pk.error is not None:
        warnings.append(_ignored(pk.error))
    hash_pkid = d.pkid
    if hash_pkid is not None and not is_pkid(hash_pkid):
        warnings.append(
            Diagnostic(
                "unusual-hash-pkid",
                f"the hash's product key id {hash_pkid[:20]!r} is not 13 digits; it is not used",
            )
        )
        hash_pkid = None
    # Only a canonical PKID from the column names the machine; anything else kept there (a
    # Product ID shared by a whole volume-licensed fleet, "N/A") would make every device
    # sent with it one and the same. The hash's own PKID serves instead.
    if pk.key is not None and hash_pkid and pk.key != hash_pkid:
        warnings.append(
            Diagnostic(
                "pkid-mismatch",
                f"product key {pk.key!r} differs from the hash's product key id {hash_pkid!r}",
            )
        )
    pkid = pk.key if pk.key is not None and is_pkid(pk.key) else None
    return DeviceIdentity(
        None,
        key,
        pkid if pkid is not None else hash_pkid,
        d.serial,
        d.manufacturer,
        d.model or model_name,
        None,
        tuple(warnings),
    )


def _placeholder_serial_key(key: str, d: DecodedHash, hash_text: str) -> str:
    """A firmware placeholder serial (the catalogue in ``placeholders``: "Default string",
    QEMU's "SMBIOS_STRING_INDEX_0", ...) is shared by countless white-box PCs and VMs, so
    manufacturer + serial would make them all one device. The SMBIOS UUID tells them apart
    (one machine reads the same UUID every time); without a usable one, the first MAC
    address; without either the key stays as it is."""
    if d.smbios_uuid is None and not d.mac_addresses:  # an identity-only decode skips them
        d = decode_hash(hash_text)
    uuid = d.smbios_uuid if d.smbios_uuid and not is_placeholder_uuid(d.smbios_uuid) else None
    extra = uuid or (d.mac_addresses[0] if d.mac_addresses else None)
    return key + KEY_SEPARATOR + extra.casefold() if extra else key


def _from_columns(
    pk: ProductKeyCheck,
    serial: str | None,
    maker: str | None,
    model_name: str | None,
    warnings: list[Diagnostic],
) -> DeviceIdentity:
    """Combinations 5 and 6: a product key, or serial + manufacturer + model."""
    for what, value in (("serial number", serial), ("manufacturer", maker)):
        unusual = _unusual_column(what, value)
        if unusual is not None:
            warnings.append(unusual)
    # A placeholder serial is shared by many machines, and a tuple has no UUID to tell them
    # apart: it identifies nothing.
    placeholder = serial is not None and is_placeholder_serial(serial)
    if placeholder and serial is not None:
        warnings.append(placeholder_serial_warning(serial, "the"))
    key = None
    if not placeholder and serial is not None and maker is not None and model_name is not None:
        key = hardware_key(maker, serial)
        if len(key) > MAX_KEY_LEN:  # only reachable through casefold expansion
            key = None
            warnings.append(
                Diagnostic("identity-too-long", "manufacturer + serial number are too long to use")
            )
    if pk.key is None and key is None:
        reason = _why_unidentified(serial, maker, model_name, pk.error)
        return _refused(
            dds.MISSING_SERIAL_AND_PRODUCT_KEY, reason, pk, serial, maker, model_name, warnings
        )
    if pk.error is not None:
        warnings.append(_ignored(pk.error))
    if key is None and not placeholder and (serial or maker or model_name):
        warnings.append(
            Diagnostic(
                "incomplete-tuple",
                "serial number, manufacturer and model are only an identifier together; "
                f"missing: {_missing(serial, maker, model_name)}",
            )
        )
    return DeviceIdentity(None, key, pk.key, serial, maker, model_name, None, tuple(warnings))


def _unusual_column(what: str, value: str | None) -> Diagnostic | None:
    return None if value is None else unusual_text_warning(what, value, "the")


def _refused(
    error: DdsError,
    reason: str,
    pk: ProductKeyCheck,
    serial: str | None,
    maker: str | None,
    model_name: str | None,
    warnings: list[Diagnostic],
) -> DeviceIdentity:
    pkid = pk.key if error is dds.INVALID_HARDWARE_HASH else None
    return DeviceIdentity(error, None, pkid, serial, maker, model_name, reason, tuple(warnings))


def _ignored(error: Diagnostic) -> Diagnostic:
    return Diagnostic(error.code, error.message + " (ignored: the device has other identifiers)")


def _missing(serial: str | None, maker: str | None, model: str | None) -> str:
    names = (("serial number", serial), ("manufacturer", maker), ("model", model))
    return ", ".join(name for name, value in names if value is None)


def _why_unidentified(
    serial: str | None, maker: str | None, model: str | None, pk_error: Diagnostic | None
) -> str:
    parts: list[str] = []
    if pk_error is not None:
        parts.append(pk_error.message)
    if serial and is_placeholder_serial(serial):
        parts.append(
            f"the serial number {serial!r} is a firmware placeholder shared by many machines, "
            "so serial number + manufacturer + model cannot identify this one; send its "
            "hardware hash (the SMBIOS UUID inside tells such machines apart), or "
            + RECAPTURE_ADVICE
        )
    elif serial and maker and model:
        parts.append("manufacturer + serial number are too long to form an identity key")
    elif serial or maker or model:
        parts.append(
            "serial number, manufacturer and model identify a device only together; "
            f"missing: {_missing(serial, maker, model)}"
        )
    if not parts:
        parts.append("no hardware hash, product key id or serial number was given")
    parts.append(
        "send a hardware hash, a 13-digit product key id (PKID), or serial number + "
        "manufacturer + model"
    )
    return "; ".join(parts)
