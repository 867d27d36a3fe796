"""Product key column rules: PKID canonical, license keys refused, PIDs kept with a warning,
anything else refused (it names no machine)."""

from __future__ import annotations

import pytest

from ztd.identity.product_key import check_product_key, is_pkid


def test_pkid_is_canonical() -> None:
    c = check_product_key(" 3305404496774 ")
    assert (c.key, c.error, c.warnings) == ("3305404496774", None, ())
    assert is_pkid("3305404496774") and not is_pkid("330540449677")


@pytest.mark.parametrize("value", [None, "", "   ", "\t"])
def test_absent(value: str | None) -> None:
    c = check_product_key(value)
    assert (c.key, c.error, c.warnings) == (None, None, ())


@pytest.mark.parametrize(
    "value",
    [
        "VK7JG-NPHTM-C97JM-9MPGT-3V66T",
        "VK7JGNPHTMC97JM9MPGT3V66T",
        "vk7jg-nphtm-c97jm-9mpgt-3v66t",
        "12345-67890-09876-54321-13579",  # Partner Center's sample has the license-key shape
    ],
)
def test_license_key_is_refused(value: str) -> None:
    c = check_product_key(value)
    assert c.key is None and c.error is not None and c.error.code == "license-key"
    assert value not in c.error.message  # a secret is never echoed in full


@pytest.mark.parametrize("value", ["00329-00000-0003-AA606", " 00330-80000-00000-AA123 "])
def test_pid_is_kept_with_a_warning(value: str) -> None:
    c = check_product_key(value)
    assert c.key == value.strip() and c.error is None
    assert [w.code for w in c.warnings] == ["pid-not-pkid"]


def test_separated_pkid_is_normalized() -> None:
    c = check_product_key("3305-4044-96774")
    assert c.key == "3305404496774" and [w.code for w in c.warnings] == ["pkid-reformatted"]


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("123", "3 digits"),
        ("123456789012", "12 digits"),
        ("12345678901234", "14 digits"),
        ("1234 5678 9012", "12 digits"),  # separated, but still one digit short
        ("12345678901234567890123", "23 digits"),
        ("N/A", "not 13 ASCII digits"),
        ("abc-def", "not 13 ASCII digits"),
        ("123456789012A", "not 13 ASCII digits"),
        ("12345 6789O123", "not 13 ASCII digits"),  # letter O for a zero
        ("a" * 64, "not 13 ASCII digits"),
    ],
)
def test_anything_else_is_refused(value: str, shape: str) -> None:
    """A value that is neither a PKID nor a PID names no machine: refused, saying why."""
    c = check_product_key(value)
    assert c.key is None and c.warnings == ()
    assert c.error is not None and c.error.code == "product-key-not-pkid"
    assert f"is {shape}; a product key id (PKID) is 13 digits" in c.error.message


def test_overlong_value_is_refused() -> None:
    c = check_product_key("0" * 65)
    assert c.key is None and c.error is not None and c.error.code == "product-key-too-long"


def test_only_ascii_digits_make_a_pkid() -> None:
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in "1234567890123")
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in "1234567890123")
    for lookalike in (fullwidth, arabic_indic):
        assert not is_pkid(lookalike)
        refused = check_product_key(lookalike).error
        assert refused is not None and refused.code == "product-key-not-pkid"
    assert is_pkid("1234567890123")
