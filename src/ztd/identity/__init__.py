"""Device identity: Autopilot hardware hashes, product keys, registration rules and CSV files.

Pure code without I/O (the CSV reader takes bytes). The server calls ``analyze_device`` once per
device; everything else here supports it, the CLI, the console and the tests.
"""

from ztd.identity.csv_reader import (
    CsvDevice,
    CsvDiagnostic,
    CsvFormatError,
    CsvResult,
    check_devices,
    read_devices,
)
from ztd.identity.dds import DdsError
from ztd.identity.device import DeviceIdentity, analyze_device, hardware_key
from ztd.identity.diagnostics import Diagnostic
from ztd.identity.hardware_hash import DecodedHash, HashDecodeError, decode_hash
from ztd.identity.product_key import ProductKeyCheck, check_product_key
from ztd.identity.synthetic import (
    SyntheticDevice,
    regenerate_hash,
    synthesize_device,
    synthesize_hash,
)
from ztd.identity.validation import HashCheck, validate_hash

__all__ = [
    "CsvDevice",
    "CsvDiagnostic",
    "CsvFormatError",
    "CsvResult",
    "DdsError",
    "DecodedHash",
    "DeviceIdentity",
    "Diagnostic",
    "HashCheck",
    "HashDecodeError",
    "ProductKeyCheck",
    "SyntheticDevice",
    "analyze_device",
    "check_devices",
    "check_product_key",
    "decode_hash",
    "hardware_key",
    "read_devices",
    "regenerate_hash",
    "synthesize_device",
    "synthesize_hash",
    "validate_hash",
]
