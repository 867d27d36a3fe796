"""The per-device error catalogue of the Device Directory Service (DDS).

Partner Center reports these in ``DeviceUploadDetails.errorCode`` (the number as a string) and
``errorDescription`` (the name). ``remedy`` is ztd's plain-language advice for the CLI and docs.
"""

from __future__ import annotations

from typing import NamedTuple


class DdsError(NamedTuple):
    code: str | None  # None: Microsoft never published a number (ZtdDeviceDuplicated)
    name: str
    remedy: str


INVALID_REQUEST_BODY = DdsError(
    "801", "InvalidZtdRequestBody", "The device entry is malformed; fix the request and resend."
)
INVALID_HARDWARE_HASH = DdsError(
    "802",
    "InvalidZtdHardwareHash",
    "The hardware hash is damaged or incomplete. Collect it again with "
    "Get-WindowsAutopilotInfo on the device and upload the new file.",
)
MISSING_SERIAL_AND_PRODUCT_KEY = DdsError(
    "803",
    "MissingZtdSerialNumberAndProductKey",
    "The device has no usable identifier combination. Send a hardware hash, a 13-digit "
    "product key id (PKID), or serial number + manufacturer + model together.",
)
DEVICE_ALREADY_ASSIGNED = DdsError(
    "806",
    "ZtdDeviceAlreadyAssigned",
    "The device is already registered to this customer; nothing to do.",
)
DEVICE_NOT_REGISTERED = DdsError(
    "807",
    "ZtdDeviceIsNotRegistered",
    "The device is not registered to this customer. Check the device id.",
)
DEVICE_ASSIGNED_TO_OTHER_TENANT = DdsError(
    "808",
    "ZtdDeviceAssignedToOtherTenant",
    "The device is registered to another tenant. That tenant (or its partner) must "
    "deregister it first; Microsoft support can help if the owner is unknown.",
)
PROFILE_NOT_REGISTERED = DdsError(
    "809",
    "ZtdProfileIsNotRegistered",
    "The configuration policy does not exist for this customer. Check the policy id.",
)
PROFILE_ASSIGNED_TO_OTHER_TENANT = DdsError(
    "810",
    "ZtdProfileAssignedToOtherTenant",
    "The configuration policy belongs to another customer. Use one of this customer's policies.",
)
DEVICE_REGISTERED_BY_OTHER_TENANT = DdsError(
    "811",
    "ZtdDeviceRegisteredByOtherTenant",
    "The device was registered by another tenant and cannot be removed by this one.",
)
DEVICE_NOT_FOUND = DdsError(
    "812",
    "ZtdDeviceNotFound",
    "No OEM-supplied hardware hash matches this product key or manufacturer/model/serial. "
    "Upload the device's hardware hash instead, or ask the OEM to register it.",
)
DEVICE_NOT_UNIQUE = DdsError(
    "813", "ZtdDeviceIsNotUnique", "The identifiers match more than one device; send the hash."
)
DEVICE_DUPLICATED = DdsError(
    None,
    "ZtdDeviceDuplicated",
    "The same device appears more than once in this upload; only the first copy was processed.",
)
STORAGE_ERROR = DdsError(
    None, "StorageError", "A transient storage error; upload the device again."
)

ALL: tuple[DdsError, ...] = (
    INVALID_REQUEST_BODY,
    INVALID_HARDWARE_HASH,
    MISSING_SERIAL_AND_PRODUCT_KEY,
    DEVICE_ALREADY_ASSIGNED,
    DEVICE_NOT_REGISTERED,
    DEVICE_ASSIGNED_TO_OTHER_TENANT,
    PROFILE_NOT_REGISTERED,
    PROFILE_ASSIGNED_TO_OTHER_TENANT,
    DEVICE_REGISTERED_BY_OTHER_TENANT,
    DEVICE_NOT_FOUND,
    DEVICE_NOT_UNIQUE,
    DEVICE_DUPLICATED,
    STORAGE_ERROR,
)
BY_NAME: dict[str, DdsError] = {e.name: e for e in ALL}


def remedy_of(code: str | None, name: str | None) -> str:
    """What to do about a device's error, as a status document reports it: ``name`` is its
    ``errorDescription``, ``code`` its ``errorCode`` (either may be missing; the name is
    matched first). An error neither matches gets a sentence saying it is unknown."""
    by_code = {e.code: e for e in ALL if e.code}
    known = BY_NAME.get(name or "") or by_code.get(code or "")
    return known.remedy if known else "Unknown error; see the service's documentation."
