"""The key-encryption key as an operator writes it: one or more Fernet keys (32 random
bytes, URL-safe base64: 44 characters), comma-separated, the first encrypting and any
decrypting. The one parser of that form, for the settings (a bad ZTD_KEY_ENCRYPTION_KEY is
refused when the settings are read) and for the key store that uses the keys.

Nothing here imports the settings, which validate with it."""

from __future__ import annotations

import binascii
from pathlib import Path

from cryptography.fernet import Fernet

KEY_CHARS = 44  # 32 bytes in base64
MAKE_ONE = "`ztd admin keys encryption-key` makes one"


class KeyEncryptionError(ValueError):
    """The key-encryption key is missing, unreadable, malformed, or not the one used."""


def fernet_keys(text: str) -> list[Fernet]:
    """The keys of ``text``, in order. KeyEncryptionError saying which key is wrong and how
    (its length, or not base64), never the key itself: it is a secret."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise KeyEncryptionError("it holds no key (it is empty, or only commas and spaces)")
    return [_key(part, number, len(parts)) for number, part in enumerate(parts, 1)]


def _key(part: str, number: int, total: int) -> Fernet:
    which = f"key {number} of {total}"
    if len(part) != KEY_CHARS:
        raise KeyEncryptionError(
            f"{which} has {len(part)} character{'' if len(part) == 1 else 's'}, not "
            f"{KEY_CHARS} (a Fernet key is 32 bytes in URL-safe base64)"
        )
    try:
        return Fernet(part.encode())
    except (ValueError, binascii.Error):
        raise KeyEncryptionError(
            f"{which} is not 32 bytes in URL-safe base64 (A-Z, a-z, 0-9, - and _, ending in =)"
        ) from None


def read_key_file(path: Path) -> str:
    """The text of a key file (ZTD_KEY_ENCRYPTION_KEY_FILE); KeyEncryptionError when it
    cannot be read, saying why."""
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyEncryptionError(f"cannot read it ({exc})") from None
