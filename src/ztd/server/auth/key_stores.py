"""Which signing-key store a process uses: the database when a key-encryption key is
configured (every host sharing the database shares the keys), else files under
ZTD_DATA_DIR (the embedded default, one host)."""

from __future__ import annotations

from ztd.server.auth.database_keys import DatabaseKeyStore
from ztd.server.auth.key_encryption import configured, key_cipher
from ztd.server.auth.keys import KeyStore, SigningKeys
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


def open_key_store(settings: Settings, db: Database) -> SigningKeys:
    if configured(settings):
        return DatabaseKeyStore(db, key_cipher(settings))
    return KeyStore(settings.data_dir / "keys")
