"""The built-in issuer's signing keys kept in the database, so that every API process on
every host sharing it signs with the same key and accepts every other's tokens.

Private keys are stored encrypted (auth/key_encryption.py). Requests never wait for the
database: the status fast lane asks ``holds`` on the event loop for every poll, so the
keys are held in memory and re-read in the background every REFRESH_SECONDS (a rotation
elsewhere, or a deleted row, is seen within that). A token naming a key not held yet (it
was made a moment ago on another host) re-reads at once, at most once per
UNKNOWN_KID_REFRESH_SECONDS, so forged kids cannot turn into a query per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, text

from ztd.server.auth.key_encryption import KeyCipher
from ztd.server.auth.keys import SigningKey, key_from_pem, new_private_key, pem_of
from ztd.server.storage.database import Database
from ztd.server.storage.schema import signing_keys

log = logging.getLogger("ztd.auth")


class DatabaseKeyStore:
    REFRESH_SECONDS = 3.0
    UNKNOWN_KID_REFRESH_SECONDS = 1.0

    def __init__(self, db: Database, cipher: KeyCipher) -> None:
        self.db = db
        self.cipher = cipher
        self._keys: list[SigningKey] = []  # oldest first; replaced whole, never mutated
        self._by_kid: dict[str, SigningKey] = {}
        self._loaded_at = -math.inf
        self._unknown_refreshed_at = -math.inf
        self._refreshing = False
        self._lock = threading.Lock()  # one refresh at a time

    def keys(self) -> list[SigningKey]:
        """All keys, oldest first. The first call loads them; later calls answer from
        memory. A database without keys (new, or every key deleted) gets one."""
        if self._loaded_at == -math.inf:
            self._refresh()
        else:
            self._refresh_in_background_if_stale()
        keys = self._keys  # one snapshot: a background refresh may replace it meanwhile
        if not keys:
            self._create_first()
            keys = self._keys
        return keys

    def current(self) -> SigningKey:
        return self.keys()[-1]

    def by_kid(self, kid: str) -> SigningKey | None:
        found = self._known(kid)
        if found is None:
            now = time.monotonic()
            if now - self._unknown_refreshed_at >= self.UNKNOWN_KID_REFRESH_SECONDS:
                self._unknown_refreshed_at = now
                self._refresh()
                found = self._by_kid.get(kid)
        return found

    def holds(self, kid: str) -> bool:
        return self._known(kid) is not None

    def rotate(self) -> SigningKey:
        """Store a new signing key; it signs from now on, here at once and elsewhere within
        REFRESH_SECONDS. Older keys stay for verification."""
        private_key = new_private_key()
        with self.db.write() as conn:
            key = self._insert(conn, pem_of(private_key))
        self._refresh()
        return key

    def existing(self) -> list[SigningKey]:
        """The keys stored, oldest first, without creating one; raises KeyEncryptionError
        when they do not decrypt with this process's key."""
        self._refresh()
        return list(self._keys)

    def import_keys(self, keys: list[SigningKey]) -> list[str]:
        """Store keys made elsewhere (the file store's), oldest first, skipping those
        already present; returns the kids stored. The last one stored signs from now on."""
        stored = []
        with self.db.write() as conn:
            present = set(conn.execute(select(signing_keys.c.kid)).scalars())
            for key in keys:
                if key.kid not in present:
                    self._insert(conn, pem_of(key.private_key))
                    stored.append(key.kid)
        self._refresh()
        return stored

    def _known(self, kid: str) -> SigningKey | None:
        self.keys()
        return self._by_kid.get(kid)

    def _create_first(self) -> None:
        # Processes starting together on an empty table must end with one key, not one each:
        # the table lock (PostgreSQL) or the write transaction (SQLite, BEGIN IMMEDIATE)
        # makes the second wait, then find the first one's key.
        with self.db.write() as conn:
            if not self.db.is_sqlite:
                conn.execute(text("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"))
            if conn.execute(select(func.count()).select_from(signing_keys)).scalar_one() == 0:
                self._insert(conn, pem_of(new_private_key()))
        self._refresh()

    def _insert(self, conn: Connection, pem: bytes) -> SigningKey:
        key = key_from_pem(pem, "a new signing key")
        conn.execute(
            insert(signing_keys).values(
                kid=key.kid, private_key=self.cipher.encrypt(pem), created_at=datetime.now(UTC)
            )
        )
        return key

    def _refresh_in_background_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self.REFRESH_SECONDS or self._refreshing:
            return
        self._refreshing = True
        threading.Thread(target=self._background_refresh, name="ztd-keys", daemon=True).start()

    def _background_refresh(self) -> None:
        try:
            self._refresh()
        except Exception:  # the database is away: keep serving the keys held, say so
            log.warning("could not re-read the signing keys; using those held", exc_info=True)
            self._loaded_at = time.monotonic()  # retry after another period, not at once
        finally:
            self._refreshing = False

    def _refresh(self) -> None:
        """Re-read the list of kids; decrypt and parse only keys not held yet."""
        with self._lock:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(signing_keys.c.kid).order_by(signing_keys.c.seq)
                ).scalars()
                kids = list(rows)
                missing = [kid for kid in kids if kid not in self._by_kid]
                fetched = {}
                if missing:
                    fetched = {
                        row.kid: row.private_key
                        for row in conn.execute(
                            select(signing_keys.c.kid, signing_keys.c.private_key).where(
                                signing_keys.c.kid.in_(missing)
                            )
                        )
                    }
            by_kid = {}
            for kid in kids:
                held = self._by_kid.get(kid)
                if held is None and kid in fetched:
                    held = key_from_pem(
                        self.cipher.decrypt(fetched[kid], kid), f"signing key {kid}"
                    )
                if held is not None:  # absent: deleted between the two reads
                    by_kid[kid] = held
            self._keys = list(by_kid.values())
            self._by_kid = by_kid
            self._loaded_at = time.monotonic()
