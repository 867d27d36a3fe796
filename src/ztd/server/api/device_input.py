"""Reading the devices of an upload, precisely and fast.

Validating 10,000 devices through pydantic costs about 0.1 s for what is only this: match the
five identifier properties ignoring case (the .NET SDK sends PascalCase), ignore the junk the
SDKs add, and check that each value is a string of a length the registry stores. Errors name
the device and the property.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ztd.server.errors import InvalidRequest, refuse_nul, shown
from ztd.server.services.uploads import UploadedDevice
from ztd.server.storage import widths
from ztd.wire import PolicyCategory

__all__ = [
    "DeviceChange",
    "UploadedDevice",
    "check_device_count",
    "parse_batch_id",
    "parse_device_change",
    "parse_devices",
]

# Wire name (lower case) -> (field, longest value the registry stores).
_FIELDS = {
    "serialnumber": ("serial_number", widths.SERIAL_NUMBER),
    "productkey": ("product_key", widths.PRODUCT_KEY),
    "hardwarehash": ("hardware_hash", 1_000_000),  # stored packed, not as text
    "modelname": ("model_name", widths.MODEL_NAME),
    "oemmanufacturername": ("oem_manufacturer_name", widths.MANUFACTURER),
}
MAX_BATCH_ID = widths.BATCH_ID
MAX_POLICY_REF = widths.POLICY_REF


def check_device_count(count: int, limit: int) -> None:
    """InvalidRequest when a request sends no device, or more than ``limit``
    (ZTD_MAX_DEVICES_PER_REQUEST)."""
    if not count:
        raise InvalidRequest("devices is empty: send at least one device.")
    if count > limit:
        raise InvalidRequest(
            f"Too many devices in one request: {count}; the limit is {limit} "
            f"(ZTD_MAX_DEVICES_PER_REQUEST). Split the request into several."
        )


def parse_devices(raw: Any, *, where: str = "devices") -> list[UploadedDevice]:
    if not isinstance(raw, list):
        raise InvalidRequest(f"{where} must be an array of Device objects.")
    return [UploadedDevice(**_fields(item, f"{where}[{index}]")) for index, item in enumerate(raw)]


def _fields(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{where}: expected a Device object, got {_json_type(item)}.")
    fields: dict[str, Any] = {}
    for key, value in item.items():
        folded = key.lower().replace("_", "") if isinstance(key, str) else None
        if folded == "policies" and value is not None:
            # PowerShell copies a device's Policies into uploads: they take effect once the
            # device registers, as if a DevicePolicyUpdates request followed.
            fields["policy_ref"] = _policy_ref(value, f"{where}.{key}")
            continue
        known = _FIELDS.get(folded) if folded is not None else None
        if known is None or value is None:
            continue  # junk the SDKs send (Attributes, UploadedDate, Id: null ...) is ignored
        if type(value) is not str:
            raise InvalidRequest(f"{where}.{key}: expected a string, got {_json_type(value)}.")
        name, longest = known
        if len(value) > longest:
            raise InvalidRequest(
                f"{where}.{key}: {len(value)} characters; at most {longest} are accepted."
            )
        refuse_nul(value, where, ".", key, ":")
        fields[name] = value
    return fields


def _policy_ref(raw: Any, where: str) -> str | None:
    """The policy an uploaded device's ``policies`` names: the value of its OOBE entry (key
    in any spelling: o_o_b_e, OOBE), or None when there is none or it has no value."""
    if not isinstance(raw, list):
        raise InvalidRequest(
            f"{where}: expected an array of {{key, value}}, got {_json_type(raw)}."
        )
    ref = None
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise InvalidRequest(f"{where}[{index}]: expected an object, got {_json_type(entry)}.")
        named = {str(k).lower(): v for k, v in entry.items()}
        key, value = named.get("key"), named.get("value")
        if key is not None and not isinstance(key, str):
            raise InvalidRequest(f"{where}[{index}].key: expected a string, got {_json_type(key)}.")
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(
                f"{where}[{index}].value: expected a string (a policy id), got {_json_type(value)}."
            )
        if key is None or PolicyCategory.lookup(key) is not PolicyCategory.OOBE:
            continue  # the only category there is; others mean nothing to a device
        if value is not None and len(value) > MAX_POLICY_REF:
            raise InvalidRequest(
                f"{where}[{index}].value: {len(value)} characters; at most {MAX_POLICY_REF}."
            )
        refuse_nul(value, f"{where}[{index}].value:")
        ref = value.strip() or None if value is not None else None
    return ref


class DeviceChange(NamedTuple):
    """What a PUT/PATCH of one device changes: its OOBE policy, when ``sets_policy``."""

    sets_policy: bool
    policy_ref: str | None  # None: no policy


def parse_device_change(raw: Any) -> DeviceChange:
    """A ``Device`` body: ``policies`` absent (or null) keeps the device's policy; present,
    its OOBE entry's value is the policy, and no entry or no value means none."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"The body must be a Device object, got {_json_type(raw)}.")
    for key, value in raw.items():
        if isinstance(key, str) and key.lower() == "policies" and value is not None:
            return DeviceChange(True, _policy_ref(value, key))
    return DeviceChange(False, None)


def parse_batch_id(raw: Any) -> str:
    if raw is not None and not isinstance(raw, str):
        raise InvalidRequest("batchId must be a string.")
    batch_id = (raw or "").strip()
    if not batch_id:
        raise InvalidRequest("batchId is required: name the batch (any non-empty string).")
    # Names match ignoring case, by their casefolded form, which can be longer ("ß" -> "ss").
    if len(batch_id) > MAX_BATCH_ID or len(batch_id.casefold()) > MAX_BATCH_ID:
        raise InvalidRequest(f"batchId is {len(batch_id)} characters; at most {MAX_BATCH_ID}.")
    if "/" in batch_id:
        raise InvalidRequest(
            f"batchId {shown(batch_id)} contains '/': the batch is named in URLs "
            "(.../deviceBatches/{batch-id}/devices), where it could never be found again."
        )
    if not batch_id.isprintable():
        raise InvalidRequest(f"batchId {shown(batch_id)} contains control characters.")
    return batch_id


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else "null"
