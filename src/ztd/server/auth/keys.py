"""The built-in issuer's RSA signing keys, kept as PEM files under ``ZTD_DATA_DIR/keys``.

Several keys may be present so that a rotated-out key still verifies the tokens it signed
until they expire; the newest file signs new tokens. Processes share the directory (the
workers of ``ztd serve --workers N``, ``ztd admin`` commands), so creating a key happens
under a file lock, and a key file appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from filelock import FileLock
from jwt.algorithms import RSAAlgorithm

from ztd.server.storage.private_files import private_directory

# Making a key takes well under a second; waiting longer means the lock is held by something
# that is not making a key, and filelock's Timeout names the lock file.
LOCK_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


class SigningKeys(Protocol):
    """Where the built-in issuer's keys live: files under ZTD_DATA_DIR (one host) or the
    database (every host sharing it; auth/database_keys.py)."""

    def keys(self) -> list[SigningKey]: ...
    def current(self) -> SigningKey: ...
    def by_kid(self, kid: str) -> SigningKey | None: ...
    def holds(self, kid: str) -> bool: ...
    def rotate(self) -> SigningKey: ...


class KeyStore:
    """The keys in ``directory``, oldest first; the newest signs.

    Other processes change the directory (``ztd admin keys rotate`` adds a key, an operator
    deletes a compromised one), so the store looks again every REFRESH_SECONDS, and at once
    when a token names a key it does not hold. Looking is a directory listing; only a file
    not seen before is parsed (tens of milliseconds), so tokens naming unknown keys cannot
    make the server re-read every key.
    """

    REFRESH_SECONDS = 5.0

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._by_file: dict[str, SigningKey] = {}  # file name -> key, in file-name order
        self._keys: list[SigningKey] = []
        self._by_kid: dict[str, SigningKey] = {}
        self._checked_at = -math.inf
        self._lock = threading.RLock()

    def keys(self) -> list[SigningKey]:
        """All keys, oldest first. Creates the first key on first use."""
        if time.monotonic() - self._checked_at > self.REFRESH_SECONDS:
            self._refresh()
        if not self._keys:
            with self._lock:  # two first requests at once must not make two keys
                if not self._keys:
                    self._create_first()
        return self._keys

    def current(self) -> SigningKey:
        return self.keys()[-1]

    def by_kid(self, kid: str) -> SigningKey | None:
        self.keys()
        found = self._by_kid.get(kid)
        if found is None:
            self._refresh()  # another process may have added it a moment ago
            found = self._by_kid.get(kid)
        return found

    def holds(self, kid: str) -> bool:
        """Whether the key still exists (a deleted key no longer verifies anything). Asked
        on every status poll: a dictionary lookup."""
        self.keys()
        return kid in self._by_kid

    def rotate(self) -> SigningKey:
        """Create a new signing key; older keys stay for verification."""
        with self._lock, self._directory_lock():
            return self._write_new_key()

    def existing(self) -> list[SigningKey]:
        """The keys present, oldest first, without creating one (`ztd admin keys import`)."""
        self._refresh()
        return list(self._keys)

    def _create_first(self) -> None:
        # Two processes starting on a fresh data directory must end with one key, not one
        # each: the second waits for the lock, then finds the first one's key.
        with self._directory_lock():
            self._refresh()
            if not self._keys:
                self._write_new_key()

    def _directory_lock(self) -> FileLock:
        private_directory(self.directory)
        return FileLock(self.directory / ".lock", timeout=LOCK_TIMEOUT_SECONDS)

    def _write_new_key(self) -> SigningKey:
        """Called with the directory lock held."""
        private_key = new_private_key()
        pem = pem_of(private_key)
        # Numbered after the highest number present (not the count: files may have been
        # deleted), so that the new key sorts last and signs from now on.
        numbers = [int(p.name[:4]) for p in self._files() if p.name[:4].isdigit()]
        index = max(numbers, default=-1) + 1
        name = f"{index:04d}-{_kid_of(private_key)}.pem"
        # Written under a name the store does not read, then renamed: a process listing the
        # directory meanwhile sees no file or the whole key, never a half-written one. The
        # private key must never be world-readable.
        partial = self.directory / f".{name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(partial, self.directory / name)
        self._refresh()
        return SigningKey(_kid_of(private_key), private_key)

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*.pem")) if self.directory.exists() else []

    def _refresh(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            files = self._files()
            if [path.name for path in files] == list(self._by_file):
                return
            known = self._by_file
            loaded: dict[str, SigningKey] = {}
            for path in files:
                key = known.get(path.name)
                if key is None:
                    try:
                        key = _load(path)
                    except FileNotFoundError:
                        continue  # deleted since it was listed (an operator retiring a key)
                loaded[path.name] = key
            self._by_file = loaded
            self._keys = list(self._by_file.values())
            self._by_kid = {key.kid: key for key in self._keys}


def _load(path: Path) -> SigningKey:
    return key_from_pem(path.read_bytes(), str(path))


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_from_pem(pem: bytes, where: str) -> SigningKey:
    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{where} is not an RSA private key")
    return SigningKey(_kid_of(private_key), private_key)


def _kid_of(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]
