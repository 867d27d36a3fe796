"""Enums with their exact wire strings (the .NET EnumJsonConverter's snake_case)."""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Any, Self


def fold(text: str) -> str:
    """An enum name with case and underscores folded away: the SDK's converter reads
    ``o_o_b_e``, ``OOBE`` and ``oobe`` alike, and PowerShell 3.x sends the PascalCase
    names (``OobeUserNotLocalAdmin``) where the SDK writes ``oobe_user_not_local_admin``."""
    return text.replace("_", "").casefold()


class WireEnum(StrEnum):
    """Reads like .NET: any spelling of a name (see ``fold``), and an unknown string becomes
    the 0 value. Responses write the snake_case value."""

    @classmethod
    def lookup(cls, value: str) -> Self | None:
        """The member ``value`` names in any spelling, or None."""
        return _by_folded_name(cls).get(fold(value))  # type: ignore[return-value]

    @classmethod
    def _missing_(cls, value: Any) -> WireEnum:
        member = cls.lookup(value) if isinstance(value, str) else None
        return member if member is not None else cls._zero()

    @classmethod
    def _zero(cls) -> WireEnum:
        return next(iter(cls))


@functools.cache
def _by_folded_name(cls: type[WireEnum]) -> dict[str, WireEnum]:
    return {fold(member.value): member for member in cls}


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
