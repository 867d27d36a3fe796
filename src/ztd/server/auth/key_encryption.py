"""The key that encrypts the signing keys kept in the database.

It comes from the environment (``ZTD_KEY_ENCRYPTION_KEY``) or from a file such as a
container secret or a KMS agent's mount (``ZTD_KEY_ENCRYPTION_KEY_FILE``). It is a Fernet
key (32 random bytes, URL-safe base64: ``ztd admin keys encryption-key`` makes one);
several, comma-separated, let an operator change it: the first encrypts, any decrypts.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ztd.server.auth.fernet_keys import (
    MAKE_ONE,
    KeyEncryptionError,
    fernet_keys,
    read_key_file,
)
from ztd.server.settings import Settings

__all__ = ["KeyCipher", "KeyEncryptionError", "configured", "key_cipher", "new_encryption_key"]


def new_encryption_key() -> str:
    return Fernet.generate_key().decode()


def configured(settings: Settings) -> bool:
    return settings.key_encryption_key is not None or settings.key_encryption_key_file is not None


def key_cipher(settings: Settings) -> KeyCipher:
    """The cipher of the configured key (the settings refuse both sources set, and a
    malformed key, when they are read); KeyEncryptionError when none is configured or the
    file cannot be read now."""
    if settings.key_encryption_key is not None:
        return KeyCipher(settings.key_encryption_key.get_secret_value(), "ZTD_KEY_ENCRYPTION_KEY")
    path = settings.key_encryption_key_file
    if path is None:
        raise KeyEncryptionError(
            "no key-encryption key: set ZTD_KEY_ENCRYPTION_KEY (make one with "
            "`ztd admin keys encryption-key`) or ZTD_KEY_ENCRYPTION_KEY_FILE"
        )
    try:
        text = read_key_file(path)
    except KeyEncryptionError as exc:
        raise KeyEncryptionError(f"ZTD_KEY_ENCRYPTION_KEY_FILE {path}: {exc}") from None
    return KeyCipher(text, f"ZTD_KEY_ENCRYPTION_KEY_FILE {path}")


class KeyCipher:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        try:
            fernets = fernet_keys(text)
        except KeyEncryptionError as exc:
            raise KeyEncryptionError(f"{source}: {exc}; {MAKE_ONE}") from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt(self, token: str, kid: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise KeyEncryptionError(
                f"signing key {kid} in the database does not decrypt with {self.source}: "
                "every process must use the key the signing keys were stored with"
            ) from None
