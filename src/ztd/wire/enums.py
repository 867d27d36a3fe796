"""Enums with their exact wire strings (the .NET EnumJsonConverter's snake_case)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class WireEnum(StrEnum):
    """Reads like .NET: case-insensitive, and an unknown string becomes the 0 value."""

    @classmethod
    def _missing_(cls, value: Any) -> WireEnum:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.lower():
                    return member
        return cls._zero()

    @classmethod
    def _zero(cls) -> WireEnum:
        return next(iter(cls))


class DeviceUploadStatusType(WireEnum):
    UNKNOWN = "unknown"
    QUEUED = "queued"
    PROCESSING = "processing"
    FINISHED = "finished"
    FINISHED_WITH_ERRORS = "finished_with_errors"


class PolicyCategory(WireEnum):
    NONE = "none"
    OOBE = "o_o_b_e"


class PolicySettingsType(WireEnum):
    NONE = "none"
    REMOVE_OEM_PREINSTALLS = "remove_oem_preinstalls"
    OOBE_USER_NOT_LOCAL_ADMIN = "oobe_user_not_local_admin"
    SKIP_EXPRESS_SETTINGS = "skip_express_settings"
    SKIP_OEM_REGISTRATION = "skip_oem_registration"
    SKIP_EULA = "skip_eula"
