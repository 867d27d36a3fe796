"""Record types of the Autopilot ("OA3" / "4K") hardware hash.

Names follow the public decoders (Niehaus' AutopilotUtility and its ports); see
the Autopilot documentation The decoder, the synthesizer and the CLI share this table so
they cannot disagree about what a type number means.
"""

from __future__ import annotations

from typing import Final

MAGIC: Final = b"OA"
# The checksum trailer: type 'C' (0x43), reserved 'S' (0x53), uint16 LE length 36 (0x24).
TRAILER_HEADER: Final = b"CS\x24\x00"
TRAILER_LEN: Final = 36
HEADER_LEN: Final = 4  # magic + uint16 total_len
RECORD_HEADER_LEN: Final = 4  # uint8 type, uint8 reserved, uint16 LE length (header included)
# What New-AutopilotHash pads to, and what every real hash we have seen uses: 3000 bytes,
# i.e. exactly 4000 base64 characters.
STANDARD_BYTES: Final = 3000
STANDARD_CHARS: Final = 4000

VERSION: Final = 1
PROCESSOR: Final = 2
CPU_MANUFACTURER: Final = 3
CPU_MODEL: Final = 4
RAM: Final = 5
DISK_INFO: Final = 6
DISK_SERIAL: Final = 7
NETWORK_ADAPTER: Final = 8
DISPLAY: Final = 9
CHASSIS: Final = 10
OFFLINE_DEVICE_ID: Final = 11
SMBIOS_UUID: Final = 12
TPM_VERSION: Final = 13
SMBIOS_SERIAL: Final = 14
FIRMWARE_VENDOR: Final = 15
SYSTEM_MANUFACTURER: Final = 16
PRODUCT_NAME: Final = 17
SKU_NUMBER: Final = 18
SYSTEM_FAMILY: Final = 19
FIRMWARE_VENDOR_2: Final = 20
BOARD_PRODUCT: Final = 21
BOARD_VERSION: Final = 22
SYSTEM_VERSION: Final = 23
PRODUCT_KEY_ID: Final = 24
TPM_EK_PUBLIC: Final = 25
PRODUCT_KEY_PART_NUMBER: Final = 26
UNKNOWN_27: Final = 27
DISK_SERIAL_KERNEL: Final = 28
GPU_MEMORY: Final = 29
GPU_NAME: Final = 30

NAMES: Final[dict[int, str]] = {
    VERSION: "Version block",
    PROCESSOR: "Processor",
    CPU_MANUFACTURER: "CPU manufacturer",
    CPU_MODEL: "CPU model",
    RAM: "RAM",
    DISK_INFO: "Disk info",
    DISK_SERIAL: "Disk serial",
    NETWORK_ADAPTER: "Network adapter",
    DISPLAY: "Display",
    CHASSIS: "Chassis / power role",
    OFFLINE_DEVICE_ID: "Offline device id (ODUID)",
    SMBIOS_UUID: "SMBIOS UUID",
    TPM_VERSION: "TPM version",
    SMBIOS_SERIAL: "SMBIOS serial number",
    FIRMWARE_VENDOR: "Firmware vendor",
    SYSTEM_MANUFACTURER: "System manufacturer",
    PRODUCT_NAME: "Product name (model)",
    SKU_NUMBER: "SKU number",
    SYSTEM_FAMILY: "System family",
    FIRMWARE_VENDOR_2: "Firmware vendor (2)",
    BOARD_PRODUCT: "Board product",
    BOARD_VERSION: "Board version",
    SYSTEM_VERSION: "System version",
    PRODUCT_KEY_ID: "Product key id (PKID)",
    TPM_EK_PUBLIC: "TPM EK public key",
    PRODUCT_KEY_PART_NUMBER: "Product key part number",
    UNKNOWN_27: "Unknown (27)",
    DISK_SERIAL_KERNEL: "Disk serial (kernel)",
    GPU_MEMORY: "GPU memory",
    GPU_NAME: "GPU name",
}

# Types carrying NUL-terminated text, for readable dumps (GPU_NAME is UTF-16, handled apart).
TEXT_TYPES: Final = frozenset(
    {
        CPU_MANUFACTURER,
        CPU_MODEL,
        DISK_SERIAL,
        TPM_VERSION,
        SMBIOS_SERIAL,
        FIRMWARE_VENDOR,
        SYSTEM_MANUFACTURER,
        PRODUCT_NAME,
        SKU_NUMBER,
        SYSTEM_FAMILY,
        FIRMWARE_VENDOR_2,
        BOARD_PRODUCT,
        BOARD_VERSION,
        SYSTEM_VERSION,
        PRODUCT_KEY_ID,
        PRODUCT_KEY_PART_NUMBER,
        DISK_SERIAL_KERNEL,
    }
)
TPM_TYPES: Final = frozenset({OFFLINE_DEVICE_ID, TPM_VERSION, TPM_EK_PUBLIC})

# bytes.translate(None, KNOWN_TYPE_BYTES) deletes every known type from a byte string of record
# types, leaving the unknown ones; this keeps the per-record work of the decoder in C.
KNOWN_TYPE_BYTES: Final = bytes(sorted(NAMES))
