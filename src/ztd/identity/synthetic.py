"""Realistic, valid, deterministic synthetic hardware hashes (for tests, demos and benchmarks).

A seed picks a *machine* (maker, model, serial, SMBIOS UUID, PKID, NICs, disks, TPM, ...). The
machine is then *read* into a hash; every read ("generation") differs in the bytes that the OA3
tool fills at collection time, exactly like a real device whose hash string changes on every
Get-WindowsAutopilotInfo run while its identity stays put. Record layouts copy those of real
Get-WindowsAutopilotInfo exports (HP, Lenovo, Hyper-V, VMware), which the tests decode.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from ztd.identity import records as rt
from ztd.identity.hardware_hash import DecodedHash
from ztd.identity.hash_builder import encode_records, record, text_record

__all__ = [
    "MachineProfile",
    "SyntheticDevice",
    "machine_profile",
    "read_machine",
    "regenerate_hash",
    "synthesize_device",
    "synthesize_hash",
]


@dataclass(frozen=True, slots=True)
class _Model:
    manufacturer: str
    model: str
    sku: str
    family: str
    serial_style: str  # see _serial()
    chassis: int  # SMBIOS chassis type: 10 notebook, 3 desktop, 1 other (VM)
    virtual: bool = False


# (weight, model). Weights give a plausible fleet: mostly HP, Lenovo and Dell laptops.
_CATALOGUE: Final[tuple[tuple[int, _Model], ...]] = (
    (
        12,
        _Model(
            "HP",
            "HP EliteBook 840 G8 Notebook PC",
            "479G1UC#ABA",
            "103C_5336AN HP EliteBook",
            "hp",
            10,
        ),
    ),
    (
        10,
        _Model(
            "HP", "HP ProBook 450 G9 Notebook PC", "6F1E8EA#ABU", "103C_5336AN HP ProBook", "hp", 10
        ),
    ),
    (
        6,
        _Model(
            "HP",
            "HP EliteDesk 800 G6 Desktop Mini PC",
            "1D2F9EA#ABD",
            "103C_53307F HP EliteDesk",
            "hp_desk",
            3,
        ),
    ),
    (
        12,
        _Model(
            "LENOVO",
            "21R3001BUK",
            "LENOVO_MT_21R3_BU_Think_FM_ThinkPad T14s 2-in-1 Gen 1",
            "ThinkPad T14s 2-in-1 Gen 1",
            "lenovo",
            10,
        ),
    ),
    (
        10,
        _Model(
            "LENOVO",
            "20XW004GUS",
            "LENOVO_MT_20XW_BU_Think_FM_ThinkPad X1 Carbon Gen 9",
            "ThinkPad X1 Carbon Gen 9",
            "lenovo",
            10,
        ),
    ),
    (12, _Model("Dell Inc.", "Latitude 5420", "0A1F", "Latitude", "dell", 10)),
    (6, _Model("Dell Inc.", "OptiPlex 7090", "0A3B", "OptiPlex", "dell", 3)),
    (7, _Model("Dell Inc.", "Latitude 7440", "0C42", "Latitude", "dell", 10)),
    (
        5,
        _Model(
            "Microsoft Corporation",
            "Surface Laptop 5",
            "Surface_Laptop_5_1950",
            "Surface",
            "surface",
            9,
        ),
    ),
    (
        4,
        _Model(
            "Microsoft Corporation", "Surface Pro 9", "Surface_Pro_9_2038", "Surface", "surface", 9
        ),
    ),
    (
        4,
        _Model(
            "ASUSTeK COMPUTER INC.",
            "ExpertBook B9400CEA_B9400CEA",
            "",
            "ASUS ExpertBook",
            "asus",
            10,
        ),
    ),
    (4, _Model("Acer", "TravelMate P214-53", "0000000000000000", "TravelMate P2", "acer", 10)),
    (
        4,
        _Model(
            "Microsoft Corporation",
            "Virtual Machine",
            "None",
            "Virtual Machine",
            "hyperv",
            1,
            virtual=True,
        ),
    ),
    (
        2,
        _Model(
            "VMware, Inc.", "VMware20,1", "0000000000000001", "VMware", "vmware", 1, virtual=True
        ),
    ),
)
_WEIGHTS: Final = tuple(w for w, _ in _CATALOGUE)
_MODELS: Final = tuple(m for _, m in _CATALOGUE)

_ALNUM: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_NIC_OUIS: Final = ("44:E5:17", "3C:A9:F4", "F8:94:C2", "00:E0:4C", "80:E4:BA", "A4:C3:F0")
_DISK_MODELS: Final = (
    "KBG6AZNV512G LA KIOXIA",
    "SAMSUNG MZVL2512HCJQ-00B07",
    "PC SN740 NVMe WD 512GB",
    "Micron 2450 NVMe 512GB",
    "JYS512G3000XXG3",
)
_CPUS: Final = (
    ("GenuineIntel", "11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz", 4, 8),
    ("GenuineIntel", "12th Gen Intel(R) Core(TM) i7-1265U", 10, 12),
    ("GenuineIntel", "Intel(R) Core(TM) Ultra 5 225U", 12, 14),
    ("AuthenticAMD", "AMD Ryzen 7 PRO 5850U with Radeon Graphics", 8, 16),
)
_TPM_VENDORS: Final = ("IFX ", "NTC ", "STM ", "INTC")


@dataclass(frozen=True, slots=True)
class MachineProfile:
    """The stable identity and hardware of one synthetic machine."""

    manufacturer: str
    model: str
    serial: str
    sku: str
    family: str
    pkid: str | None
    uuid: bytes  # 16 bytes, SMBIOS (mixed-endian) order as stored in record 12
    macs: tuple[bytes, ...]  # 6 bytes each
    disk_serial: str  # "" for a virtual disk without one
    disk_model: str
    cpu_vendor: str
    cpu_model: str
    cores: int
    threads: int
    ram_gb: int
    chassis: int
    tpm_vendor: str | None  # None: no TPM records at all
    ek_public: bytes  # 256-byte RSA-2048 modulus stand-in
    virtual: bool


@dataclass(frozen=True, slots=True)
class SyntheticDevice:
    """A synthetic device as a CSV row would carry it, plus its SMBIOS UUID."""

    serial: str
    manufacturer: str
    model: str
    pkid: str | None
    hardware_hash: str
    smbios_uuid: str


def _serial(style: str, rng: random.Random) -> str:
    def pick(n: int, alphabet: str = _ALNUM) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    digits = "0123456789"
    if style == "hp":
        return rng.choice(("5CG", "5CD", "CND")) + pick(4, digits) + pick(3)
    if style == "hp_desk":
        return rng.choice(("CZC", "MXL")) + pick(4, digits) + pick(3)
    if style == "lenovo":
        return rng.choice(("PF", "PC", "R9")) + pick(6)
    if style == "dell":
        return pick(7)
    if style == "surface":
        return pick(12, digits)
    if style == "asus":
        return pick(4) + "NX" + pick(9, digits)
    if style == "acer":
        return "NX" + pick(4) + "EG" + pick(14, digits)
    if style == "hyperv":
        return "-".join(pick(4, digits) for _ in range(6)) + "-" + pick(2, digits)
    return "VMware-" + pick(16, "0123456789abcdef")  # vmware


def machine_profile(seed: int) -> MachineProfile:
    """The machine a seed stands for. Same seed, same machine, on every Python version."""
    rng = random.Random(f"ztd-machine:{seed}")  # str seeds hash with SHA-512: stable
    m = rng.choices(_MODELS, weights=_WEIGHTS)[0]
    cpu = rng.choice(_CPUS)
    if m.virtual:
        oui = "00:15:5D" if m.serial_style == "hyperv" else "00:50:56"
        nic_count = 1
    else:
        oui = rng.choice(_NIC_OUIS)
        nic_count = 2  # Wi-Fi and Bluetooth, as in the real laptop hashes
    base = bytes.fromhex(oui.replace(":", "")) + rng.randbytes(3)
    macs = tuple(base[:5] + bytes(((base[5] + 4 * k) & 0xFF,)) for k in range(nic_count))
    # OEM machines carry a PKID; VMs never do (matches the real fixtures).
    pkid = None if m.virtual else "33" + "".join(rng.choice("0123456789") for _ in range(11))
    disk_serial = (
        ""
        if m.virtual
        else "_".join(rng.randbytes(2).hex().upper() for _ in range(rng.choice((4, 8))))
    )
    return MachineProfile(
        manufacturer=m.manufacturer,
        model=m.model,
        serial=_serial(m.serial_style, rng),
        sku=m.sku,
        family=m.family,
        pkid=pkid,
        uuid=rng.randbytes(16),
        macs=macs,
        disk_serial=disk_serial,
        disk_model="Virtual Disk" if m.virtual else rng.choice(_DISK_MODELS),
        cpu_vendor=cpu[0],
        cpu_model=cpu[1],
        cores=cpu[2],
        threads=cpu[3],
        ram_gb=rng.choice((8, 16, 32)),
        chassis=m.chassis,
        tpm_vendor=("MSFT" if m.serial_style == "hyperv" else "VMW ")
        if m.virtual
        else rng.choice(_TPM_VENDORS),
        ek_public=rng.randbytes(256),
        virtual=m.virtual,
    )


def _u16(*values: int) -> bytes:
    return b"".join(v.to_bytes(2, "little") for v in values)


def _records(p: MachineProfile, generation: int) -> list[bytes]:
    """The record list of one read of machine ``p``; ``generation`` varies collection bytes."""
    gen = random.Random(f"ztd-read:{p.serial}:{p.manufacturer}:{generation}")
    arch = 9  # x64
    version = (
        _u16(0, 10, 7705, 26100)  # OA3 tool 10.0.26100.7705
        + _u16(0, 10, 7840, 26200)  # OS 10.0.26200.7840
        + gen.randbytes(5)  # collection-time bytes: differ on every read
        + bytes((2, arch, 9))  # FullOS, x64, tool version
    )
    out = [
        record(rt.VERSION, version),
        record(rt.PROCESSOR, _u16(arch, 1, p.cores, p.threads, 1, 0)),
        record(
            rt.RAM,
            p.ram_gb.to_bytes(8, "little")
            + (p.ram_gb * 2).to_bytes(8, "little")
            + _u16(2, 1)
            + b"\x03",
        ),
        text_record(rt.CPU_MANUFACTURER, p.cpu_vendor),
        text_record(rt.CPU_MODEL, p.cpu_model),
        record(
            rt.DISK_INFO, (128 if p.virtual else 512).to_bytes(8, "little") + b"\x11\x00\x00\x01"
        ),
    ]
    disk_text = (
        f"{p.disk_serial}.|{p.disk_model}|" if p.disk_serial else f"|{p.disk_model}    |Msft    "
    )
    out.append(record(rt.DISK_SERIAL, disk_text.encode()))
    for k, mac in enumerate(p.macs):
        medium, bus = (0, "VMBUS") if p.virtual else ((9, "PCI") if k == 0 else (10, "BTH"))
        name = (bus + "\0").encode("utf-16-le")
        out.append(
            record(
                rt.NETWORK_ADAPTER,
                medium.to_bytes(4, "little") + mac + len(name).to_bytes(4, "little") + name,
            )
        )
    out += [
        record(rt.DISPLAY, _u16(309, 174, 1920, 1080) + b"\x00\x00\x00\x80"),
        record(rt.UNKNOWN_27, _u16(31, 17)),
        record(rt.CHASSIS, bytes((p.chassis, 2 if p.chassis in (9, 10) else 1, 0, 0, 0))),
    ]
    if p.tpm_vendor is not None:
        out += [
            text_record(
                rt.TPM_VERSION,
                f"TPM-Version:2.0 -Level:0-Revision:1.38-VendorID:'{p.tpm_vendor}'"
                "-Firmware:458837.1166080",
            ),
            record(rt.TPM_EK_PUBLIC, p.ek_public),
            record(
                rt.OFFLINE_DEVICE_ID,
                bytes(4) + _u16(1, 32, 0) + hashlib.sha256(p.ek_public).digest(),
            ),
        ]
    out += [
        record(rt.SMBIOS_UUID, p.uuid),
        text_record(rt.SMBIOS_SERIAL, p.serial),
        text_record(rt.FIRMWARE_VENDOR, p.manufacturer),
        text_record(rt.SYSTEM_MANUFACTURER, p.manufacturer),
        text_record(rt.PRODUCT_NAME, p.model),
        text_record(rt.SKU_NUMBER, p.sku),
        text_record(rt.SYSTEM_FAMILY, p.family),
        text_record(rt.SYSTEM_VERSION, p.family),
        text_record(rt.FIRMWARE_VENDOR_2, p.manufacturer),
        text_record(rt.BOARD_PRODUCT, p.model[:12]),
        text_record(rt.BOARD_VERSION, "KBC Version 30.57.00"),
    ]
    if p.pkid is not None:
        out += [
            text_record(rt.PRODUCT_KEY_ID, p.pkid),
            text_record(rt.PRODUCT_KEY_PART_NUMBER, "[TH]X19-99481"),
        ]
    out += [
        text_record(rt.DISK_SERIAL_KERNEL, disk_text),
        record(rt.GPU_MEMORY, bytes(3) + b"\x08" + bytes(12) + b"\x01\x01"),
        record(
            rt.GPU_NAME,
            "Intel Corporation|Intel(R) Iris(R) Xe Graphics\0".encode("utf-16-le"),
        ),
        record(35, b"\x02\xff\x07"),
        # Type 37 (meaning unknown) ends with 28 bytes that differ on every read.
        record(37, _u16(52, 0, 52, 0, 0, 0, 1, 1, 3, 2, 0, 4, 1, 0) + gen.randbytes(28)),
    ]
    return out


def read_machine(profile: MachineProfile, *, generation: int = 0) -> str:
    """One read of ``profile``: a valid, 3000-byte (4000-character) base64 hardware hash."""
    return encode_records(_records(profile, generation))


def synthesize_hash(
    seed: int,
    *,
    serial: str | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    pkid: str | None = None,
    with_pkid: bool = True,
    with_tpm: bool = True,
    generation: int = 0,
) -> str:
    """A valid hash of machine ``seed``; keyword arguments override that machine's values.

    ``pkid=None`` keeps the machine's own PKID (virtual machines have none); ``with_pkid=False``
    drops record 24, ``with_tpm=False`` drops the TPM records (11, 13, 25). ``generation``
    selects the read: the same machine read again gives a different string.
    """
    p = machine_profile(seed)
    p = replace(
        p,
        serial=p.serial if serial is None else serial,
        manufacturer=p.manufacturer if manufacturer is None else manufacturer,
        model=p.model if model is None else model,
        pkid=(p.pkid if pkid is None else pkid) if with_pkid else None,
        tpm_vendor=p.tpm_vendor if with_tpm else None,
    )
    return read_machine(p, generation=generation)


def synthesize_device(seed: int) -> SyntheticDevice:
    """Machine ``seed`` as a registration row: serial, maker, model, PKID and a fresh hash."""
    p = machine_profile(seed)
    return SyntheticDevice(
        serial=p.serial,
        manufacturer=p.manufacturer,
        model=p.model,
        pkid=p.pkid,
        hardware_hash=read_machine(p),
        smbios_uuid=_guid_string(p.uuid),
    )


def _guid_string(raw: bytes) -> str:
    h = (raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:16]).hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _guid_bytes(guid: str) -> bytes:
    h = bytes.fromhex(guid.replace("-", ""))
    return h[3::-1] + h[5:3:-1] + h[7:5:-1] + h[8:16]


def _profile_from_decoded(d: DecodedHash) -> MachineProfile:
    """Rebuild a machine from what its hash exposes; the unexposed hardware is derived
    deterministically from the identity so that every regeneration agrees."""
    if not d.serial or not d.manufacturer:
        raise ValueError("a hash without serial number and manufacturer cannot be regenerated")
    digest = hashlib.sha256(f"{d.manufacturer}\x1f{d.serial}".encode()).digest()
    base = machine_profile(int.from_bytes(digest[:8], "big"))
    macs: Sequence[bytes] = [bytes.fromhex(m.replace(":", "")) for m in d.mac_addresses]
    return replace(
        base,
        manufacturer=d.manufacturer,
        model=d.model or "",
        serial=d.serial,
        pkid=d.pkid,
        uuid=_guid_bytes(d.smbios_uuid) if d.smbios_uuid else base.uuid,
        macs=tuple(macs),
        disk_serial=d.disk_serials[0] if d.disk_serials else "",
        tpm_vendor=base.tpm_vendor if d.has_tpm_records else None,
    )


def regenerate_hash(source: int | MachineProfile | DecodedHash, *, generation: int = 1) -> str:
    """The same machine read again: identical serial, manufacturer, model, UUID, PKID, MACs and
    disk serial, different collection-time bytes, hence a different hash string.

    ``source`` is a seed, a profile, or a decoded hash (for example of a real device).
    """
    if isinstance(source, int):
        profile = machine_profile(source)
    elif isinstance(source, MachineProfile):
        profile = source
    else:
        profile = _profile_from_decoded(source)
    return read_machine(profile, generation=generation)
