"""One rule for whitespace in a hash (hash_text.canonical_text): the CSV checker, the
decoder and the server all read a wrapped or spaced hash as its one-line text, and all
refuse the same other characters."""

from __future__ import annotations

import pytest

from ztd.identity import analyze_device, decode_hash, read_devices, synthesize_device
from ztd.identity.hash_text import canonical_text
from ztd.server.services.oem_registry import prepare_records

INTUNE = "Device Serial Number,Windows Product ID,Hardware Hash"
H = synthesize_device(77).hardware_hash
SERIAL = synthesize_device(77).serial


def _wrapped(text: str, width: int, sep: str) -> str:
    return sep.join(text[i : i + width] for i in range(0, len(text), width))


# Whitespace a hash is found with: MIME-wrapped base64, pasted pieces, a CSV's line endings.
VARIANTS = {
    "spaces": _wrapped(H, 100, " "),
    "crlf-every-76": _wrapped(H, 76, "\r\n"),
    "lf-every-76": _wrapped(H, 76, "\n"),
    "lone-cr": H[:1200] + "\r" + H[1200:],
    "tabs": _wrapped(H, 500, "\t"),
    "runs": _wrapped(H, 333, " \t \r\n  "),
    "vt-ff": H[:10] + "\v" + H[10:2000] + "\f" + H[2000:],
    "leading-trailing": f" \t\r\n {H} \r\n\t ",
    "between-every-char": " ".join(H),
    "in-the-padding": H[:-4] + "\n" + H[-4:],
}


def _padded() -> str:
    """A hash whose base64 ends in '=' padding: its last zero byte cut (2,999 bytes)."""
    return H[:-4] + "AAA="


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_whitespace_variant_is_the_one_line_hash(name: str) -> None:
    sent = VARIANTS[name]
    assert canonical_text(sent) == H
    assert decode_hash(sent) == decode_hash(H)
    identity = analyze_device(
        serial_number=None, product_key=None, hardware_hash=sent, manufacturer=None, model=None
    )
    assert identity.error is None and identity.hardware_key is not None


def test_padding_stays_as_sent() -> None:
    padded = _padded()
    assert decode_hash(padded).byte_length == 2999
    assert canonical_text(_wrapped(padded, 76, "\r\n") + "\n") == padded
    assert canonical_text(padded.rstrip("=")) == padded.rstrip("=")  # never added


@pytest.mark.parametrize(
    "odd",
    ["\u00a0", "\u2028", "\u3000", "\u200b", "\x85"],
    ids=["nbsp", "ls", "ideo", "zwsp", "nel"],
)
def test_other_characters_stay_and_are_named_everywhere(odd: str) -> None:
    """Not ASCII whitespace: no part of a hash, so not removed, and named as an 802 by the
    decoder, by the CSV checker and by the server's identity check alike."""
    sent = H[:100] + odd + H[100:]
    assert canonical_text(sent) == sent
    identity = analyze_device(
        serial_number=None, product_key=None, hardware_hash=sent, manufacturer=None, model=None
    )
    assert identity.error is not None and identity.error.code == "802"
    assert f"U+{ord(odd):04X}" in (identity.detail or "")
    result = read_devices(f"{INTUNE}\r\n{SERIAL},,{sent}\r\n".encode())
    [device] = result.devices
    assert device.hardware_hash == sent and device.identity.error is not None
    assert f"U+{ord(odd):04X}" in (device.identity.detail or "")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_csv_checker_keeps_the_canonical_text(name: str) -> None:
    cell = VARIANTS[name]
    result = read_devices(f'{INTUNE}\r\n{SERIAL},,"{cell}"\r\n'.encode())
    [device] = result.devices
    assert device.hardware_hash == H and device.identity.error is None
    # Only whitespace inside the cell is worth a warning; the ends are trimmed like any cell.
    inside = cell.strip() != H
    assert ("hash-whitespace" in [d.code for d in result.warnings]) is inside


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_oem_registry_stores_the_canonical_text(name: str) -> None:
    records, problems = prepare_records([("line 2", {"hardware_hash": VARIANTS[name]})])
    assert problems == []
    assert [r["hardware_hash"] for r in records] == [H]
