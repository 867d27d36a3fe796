"""Header recognition for device CSVs: which column holds which field.

Headers are compared after lower-casing and dropping everything but letters and digits, so
"Device Serial Number", "device serial number", "Device_Serial_Number" and "serialNumber" (the
API's JSON name) all match. Aliases come from the Autopilot documentation (Intune /
Get-WindowsAutopilotInfo, its -Partner variant, the Partner Center template, Microsoft Managed
Desktop drafts, and vendor files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "FIELDS",
    "LOOSE_ALIASES",
    "OFFICIAL_HEADERS",
    "ColumnMap",
    "Field",
    "field_of",
    "map_columns",
    "normalize_header",
]

Field = Literal[
    "serial_number",
    "product_key",
    "hardware_hash",
    "manufacturer",
    "model",
    "group_tag",
    "assigned_user",
]
FIELDS: Final[tuple[Field, ...]] = (
    "serial_number",
    "product_key",
    "hardware_hash",
    "manufacturer",
    "model",
    "group_tag",
    "assigned_user",
)

_ALIASES: Final[dict[Field, tuple[str, ...]]] = {
    "serial_number": (
        "Device Serial Number",
        "Serial Number",
        "Serial",
        "Serial No",
        "SerialNumber",
        "System Serial Number",
        "SMBIOS Serial Number",
    ),
    "product_key": (
        "Windows Product ID",
        "Product Key",
        "PKID",
        "Product Key ID",
        "ProductKey",
        "Windows Product Key ID",
        "Product ID",
    ),
    "hardware_hash": (
        "Hardware Hash",
        "Hardware Identifier",
        "HardwareHash",
        "Hash",
        "HWID",
        "4K Hardware Hash",
        "Device Hardware Data",
    ),
    "manufacturer": (
        "Manufacturer name",
        "Manufacturer",
        "OEM Manufacturer Name",
        "OEM Manufacturer",
        "Make",
    ),
    "model": ("Device model", "Model", "Model Name", "Product Name", "Device Name"),
    "group_tag": ("Group Tag", "GroupTag", "Order ID", "OrderIdentifier"),
    "assigned_user": (
        "Assigned User",
        "Assigned User Principal Name",
        "User Principal Name",
        "UPN",
    ),
}

# Aliases that mean the field only in some files. "Device Name" is the model in Partner
# Center's CSV specification, but the computer's host name in inventory exports (Intune,
# Endpoint analytics), which carry a "Model" column as well: any other alias of the field
# wins over a loose one, whatever the column order.
LOOSE_ALIASES: Final[dict[Field, frozenset[str]]] = {"model": frozenset({"devicename"})}

# Exact spellings that Intune / Partner Center accept; other spellings get a warning because
# Intune's import treats headers case-sensitively.
OFFICIAL_HEADERS: Final[frozenset[str]] = frozenset(
    {
        "Device Serial Number",
        "Windows Product ID",
        "Hardware Hash",
        "Group Tag",
        "Assigned User",
        "Manufacturer name",
        "Device model",
        # Partner Center template (sentence case).
        "Device serial number",
        "Windows product ID",
        "Hardware hash",
    }
)

_NON_ALNUM: Final = re.compile(r"[^0-9a-z]+")


def normalize_header(cell: str) -> str:
    """Lower-case letters and digits only: the key aliases are matched on."""
    return _NON_ALNUM.sub("", cell.lstrip("\ufeff").strip().strip('"').lower())


_BY_KEY: Final[dict[str, Field]] = {
    normalize_header(alias): field for field, aliases in _ALIASES.items() for alias in aliases
}


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Index of each recognized field, the header cells as written, and the leftovers."""

    index: dict[Field, int]
    headers: tuple[str, ...]
    unknown: tuple[int, ...]  # indexes of columns that map to no field
    duplicates: tuple[tuple[int, Field], ...]  # later columns mapping to an already-seen field
    # Loose-alias columns (LOOSE_ALIASES) not read because a proper alias of the field exists.
    outranked: tuple[tuple[int, Field], ...] = ()
    loose: frozenset[Field] = frozenset()  # fields read from a loose alias (nothing better)

    def header_of(self, field: Field) -> str | None:
        i = self.index.get(field)
        return None if i is None else self.headers[i]


def field_of(cell: str) -> Field | None:
    """The field a header cell (or a label cell of a report export) names, if any."""
    return _BY_KEY.get(normalize_header(cell))


def map_columns(cells: list[str]) -> ColumnMap:
    """Map header cells to fields: first occurrence wins, but never a loose alias over a
    proper one."""
    index: dict[Field, int] = {}
    unknown: list[int] = []
    duplicates: list[tuple[int, Field]] = []
    loose_at: dict[Field, list[int]] = {}
    headers = tuple(c.lstrip("\ufeff").strip() for c in cells)
    for i, cell in enumerate(headers):
        key = normalize_header(cell)
        field = _BY_KEY.get(key)
        if field is None:
            if cell:
                unknown.append(i)
        elif key in LOOSE_ALIASES.get(field, ()):
            loose_at.setdefault(field, []).append(i)
        elif field in index:
            duplicates.append((i, field))
        else:
            index[field] = i
    outranked: list[tuple[int, Field]] = []
    loose: set[Field] = set()
    for field, at in loose_at.items():
        if field in index:
            outranked += [(i, field) for i in at]
        else:
            index[field] = at[0]
            loose.add(field)
            duplicates += [(i, field) for i in at[1:]]
    return ColumnMap(
        index, headers, tuple(unknown), tuple(duplicates), tuple(outranked), frozenset(loose)
    )
