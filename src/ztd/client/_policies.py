"""Configuration policies (E8-E12) and device policy updates (E6) as requests, and the
argument rules; shared by the sync and async fluent operations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ztd.client import _device_deployment as dd
from ztd.client._request import ApiRequest, segment
from ztd.wire import (
    ConfigurationPolicy,
    Device,
    DevicePolicyUpdateRequest,
    KeyValuePair,
    PolicyCategory,
    PolicySettingsType,
)

PolicyLike = ConfigurationPolicy | Mapping[str, Any]
SettingLike = PolicySettingsType | str
CategoryLike = PolicyCategory | str
# (device id, policy id): None as the policy id removes the device's assignment.
Assignment = tuple[str, str | None]
PolicyDeviceLike = Assignment | Device | Mapping[str, Any]

SETTING_NAMES = tuple(m.value for m in PolicySettingsType if m is not PolicySettingsType.NONE)


def policies_path(customer_id: str) -> str:
    return f"/customers/{segment(customer_id, 'customer_id')}/policies"


def policy_path(customer_id: str, policy_id: str) -> str:
    return f"{policies_path(customer_id)}/{segment(policy_id, 'policy_id')}"


def device_policy_path(customer_id: str) -> str:
    # Capitalised as in the docs and the .NET SDK's configuration.
    return f"/customers/{segment(customer_id, 'customer_id')}/DevicePolicyUpdates"


def to_setting(value: SettingLike) -> PolicySettingsType:
    """A policy setting from the enum or its name in any spelling (skip_eula, SkipEula).
    Strict: the wire enum turns an unknown string into ``none``, which would drop a
    misspelt setting."""
    if isinstance(value, PolicySettingsType):
        return value
    if isinstance(value, str):
        member = PolicySettingsType.lookup(value.strip())
        if member is not None:
            return member
        raise ValueError(f"unknown policy setting {value!r}; allowed: {', '.join(SETTING_NAMES)}")
    raise TypeError(f"a policy setting must be a str or PolicySettingsType, not {value!r}")


def to_settings(values: Iterable[SettingLike]) -> list[PolicySettingsType]:
    if isinstance(values, (str, bytes)):
        raise TypeError("policy_settings must be a list of settings, not a single string")
    settings: list[PolicySettingsType] = []
    for value in values:
        setting = to_setting(value)
        if setting not in settings:
            settings.append(setting)
    return settings


def to_category(value: CategoryLike) -> PolicyCategory:
    if isinstance(value, PolicyCategory):
        return value
    if isinstance(value, str):
        member = PolicyCategory.lookup(value.strip())
        if member is not None:
            return member
        allowed = ", ".join(m.value for m in PolicyCategory)
        raise ValueError(f"unknown policy category {value!r}; allowed: {allowed}")
    raise TypeError(f"a policy category must be a str or PolicyCategory, not {value!r}")


def to_policy(value: PolicyLike) -> ConfigurationPolicy:
    """A ConfigurationPolicy from a model or a dict (snake_case, camelCase or PascalCase)."""
    if isinstance(value, ConfigurationPolicy):
        return value
    if isinstance(value, Mapping):
        data = dict(value)
        policy = ConfigurationPolicy.model_validate(data)
        # Validate the settings strictly (the model would read a typo as "none").
        for key, raw in data.items():
            if str(key).lower() in ("policysettings", "policy_settings") and raw is not None:
                policy.policy_settings = to_settings(raw)
        return policy
    raise TypeError(
        f"a policy must be a ztd.wire.ConfigurationPolicy or a mapping, got {type(value).__name__}"
    )


def _named(policy: ConfigurationPolicy) -> ConfigurationPolicy:
    if not isinstance(policy.name, str) or not policy.name.strip():
        raise ValueError("the policy needs a non-empty name")
    return policy


def policy_for_create(
    policy: PolicyLike | None,
    *,
    name: str | None,
    description: str | None,
    policy_settings: Iterable[SettingLike] | None,
    category: CategoryLike | None,
) -> ConfigurationPolicy:
    if policy is not None:
        if any(v is not None for v in (name, description, policy_settings, category)):
            raise TypeError(
                "give either a ConfigurationPolicy or name= (description=, policy_settings=, "
                "category=), not both"
            )
        return _named(to_policy(policy))
    if name is None:
        raise TypeError("create() needs name= (or a ConfigurationPolicy)")
    # No category: the model's "none", which the service reads as o_o_b_e (as .NET sends it).
    created = ConfigurationPolicy(
        name=name,
        description=description,
        policy_settings=to_settings(policy_settings or []),
    )
    if category is not None:
        created.category = to_category(category)
    return _named(created)


def policy_for_patch(policy: PolicyLike) -> ConfigurationPolicy:
    return _named(to_policy(policy))


def policy_body(policy: ConfigurationPolicy) -> dict[str, Any]:
    # The whole resource, as the .NET SDK sends it; the service reads name, description,
    # policySettings (and category on create) and ignores the rest.
    return policy.to_wire()


def list_policies(customer_id: str, continuation_token: str | None = None) -> ApiRequest:
    headers = {dd.CONTINUATION_HEADER: continuation_token} if continuation_token else {}
    return ApiRequest("GET", policies_path(customer_id), headers=headers)


def create_policy(
    customer_id: str, policy: ConfigurationPolicy, request_id: str | None
) -> ApiRequest:
    return ApiRequest(
        "POST", policies_path(customer_id), policy_body(policy), request_id=request_id
    )


def get_policy(customer_id: str, policy_id: str) -> ApiRequest:
    return ApiRequest("GET", policy_path(customer_id, policy_id))


def replace_policy(
    customer_id: str, policy_id: str, policy: ConfigurationPolicy, request_id: str | None
) -> ApiRequest:
    # .NET's ConfigurationPolicyOperations.PatchAsync sends PUT (E11).
    return ApiRequest(
        "PUT", policy_path(customer_id, policy_id), policy_body(policy), request_id=request_id
    )


def delete_policy(customer_id: str, policy_id: str, request_id: str | None) -> ApiRequest:
    return ApiRequest("DELETE", policy_path(customer_id, policy_id), request_id=request_id)


def to_policy_device(value: PolicyDeviceLike) -> Device:
    """A device of a DevicePolicyUpdateRequest: ``(device_id, policy_id)`` (the policy as
    the o_o_b_e policy; None removes the assignment), or a Device with ``id`` and
    ``policies``."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise TypeError("a device assignment is a (device_id, policy_id) pair")
        device_id, policy_id = value
        segment(device_id, "device_id")
        if policy_id is not None:
            segment(policy_id, "policy_id")
        return Device(
            id=device_id.strip(),
            policies=[
                KeyValuePair(
                    key=PolicyCategory.OOBE,
                    value=policy_id.strip() if policy_id is not None else None,
                )
            ],
        )
    device = dd.to_device(value)
    if not device.id or not device.policies:
        raise ValueError("each device of a policy update needs an id and policies")
    return device


def update_request(
    request: DevicePolicyUpdateRequest | None,
    devices: Iterable[PolicyDeviceLike] | None,
) -> DevicePolicyUpdateRequest:
    if request is not None:
        if devices is not None:
            raise TypeError("give either a DevicePolicyUpdateRequest or devices=, not both")
        return request
    if devices is None:
        raise TypeError("update() needs devices= (or a DevicePolicyUpdateRequest)")
    if isinstance(devices, (str, bytes, Mapping)):
        raise TypeError("devices must be a list of (device_id, policy_id) pairs or devices")
    converted = [to_policy_device(d) for d in devices]
    if not converted:
        raise ValueError("devices is empty: give at least one device")
    return DevicePolicyUpdateRequest(devices=converted)


def update_device_policies(
    customer_id: str, body: DevicePolicyUpdateRequest, request_id: str | None
) -> ApiRequest:
    return ApiRequest(
        "PATCH", device_policy_path(customer_id), body.to_wire(), request_id=request_id
    )


def assignments(device_ids: Sequence[str], policy_id: str | None) -> list[Assignment]:
    """Every device of ``device_ids`` (in order, once each) with the same policy."""
    return [(d, policy_id) for d in dict.fromkeys(device_ids)]
