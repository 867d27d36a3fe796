"""The one catalogue of firmware placeholders: SMBIOS values that name no machine.

Board makers and hypervisors leave filler in the SMBIOS serial ("Default string", "To be filled
by O.E.M.", QEMU's "SMBIOS_STRING_INDEX_0" when no serial was configured) and in the UUID.
Thousands of machines share each, so a serial from this catalogue cannot identify a device:
the hash decoder warns, ``ztd csv check`` and ``ztd upload`` warn, and the registry key adds
the SMBIOS UUID (or first MAC) to tell such machines apart (``device.hardware_key``).

Collected from the values that inventory tools (asset managers, CMDB importers, agent
fingerprinting code) filter out in the wild, and from the Autopilot documentation
Values are compared in their identity-key form (``key_text.fold``: look-alikes, invisible
characters and letter case do not matter) with runs of spaces collapsed.
"""

from __future__ import annotations

import re
from typing import Final

from ztd.identity.key_text import fold

__all__ = [
    "PLACEHOLDER_SERIALS",
    "PLACEHOLDER_UUIDS",
    "RECAPTURE_ADVICE",
    "is_placeholder_serial",
    "is_placeholder_uuid",
]

PLACEHOLDER_SERIALS: Final = frozenset(
    fold(s)
    for s in (
        # AMI / Insyde / Phoenix defaults left by board makers
        "Default string",
        "Default",
        "To be filled by O.E.M.",
        "To be filled by O.E.M",
        "To be filled by OEM",
        "To be filled",
        "O.E.M.",
        "O.E.M",
        "OEM",
        "System Serial Number",
        "Chassis Serial Number",
        "Base Board Serial Number",
        "Serial Number",
        "SerialNumber",
        "System Product Name",
        # "no value" spelled out
        "Not Specified",
        "Not Applicable",
        "Not Available",
        "Not Set",
        "Unknown",
        "None",
        "Null",
        "Empty",
        "Invalid",
        "N/A",
        "NA",
        "No Serial",
        "No Asset Tag",
        "0",
        # counting sequences (Supermicro's "0123456789" until the integrator writes one)
        "0123456789",
        "123456789",
        "1234567890",
        "12345678",
        "1234567",
        "123456",
    )
)

# QEMU / Proxmox fill an unset SMBIOS string with the index of the string slot it would use.
_INDEX_PLACEHOLDER: Final = re.compile(r"smbios_string_index_\d+")
# Separators that do not make a run of one character into a serial ("0000-0000", "FF FF").
_SEPARATORS: Final = re.compile(r"[\s\-_.:/]+")

PLACEHOLDER_UUIDS: Final = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "03000200-0400-0500-0006-000700080009",  # the classic AMI "To be filled" UUID
        "01234567-8901-2345-6789-012345678901",
    }
)

RECAPTURE_ADVICE: Final = (
    "set a real serial number in the firmware (on a virtual machine, in its SMBIOS settings) "
    "and recapture the hash"
)


def is_placeholder_serial(serial: str) -> bool:
    """True for SMBIOS filler: a catalogue value in any letter case, look-alike spelling or
    spacing, QEMU's "SMBIOS_STRING_INDEX_<n>", one character repeated ("00000000",
    "XXXXXXXX", "FF-FF-FF"), or nothing visible at all."""
    key = fold(serial)
    if key.isalnum():  # the usual serial (no spaces or separators): two cheap tests
        return key in PLACEHOLDER_SERIALS or (len(key) > 1 and key.count(key[0]) == len(key))
    key = " ".join(key.split())
    if key in PLACEHOLDER_SERIALS or _INDEX_PLACEHOLDER.fullmatch(key):
        return True
    bare = _SEPARATORS.sub("", key)
    return not bare or (len(bare) > 1 and bare.count(bare[0]) == len(bare))


def is_placeholder_uuid(uuid: str) -> bool:
    """True for an SMBIOS UUID that firmware fills in the same on every board."""
    return uuid.strip().upper() in PLACEHOLDER_UUIDS
