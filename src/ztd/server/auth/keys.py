"""The built-in issuer's RSA signing keys, kept as PEM files under ``ZTD_DATA_DIR/keys``.

Several keys may be present so that a rotated-out key still verifies the tokens it signed
until they expire; the newest file signs new tokens.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


class KeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: list[SigningKey] | None = None

    def keys(self) -> list[SigningKey]:
        """All keys, oldest first. Creates the first key on first use."""
        if self._cache is None:
            files = sorted(self.directory.glob("*.pem")) if self.directory.exists() else []
            self._cache = [_load(path) for path in files] if files else [self.rotate()]
        return self._cache

    def current(self) -> SigningKey:
        return self.keys()[-1]

    def by_kid(self, kid: str) -> SigningKey | None:
        found = next((key for key in self.keys() if key.kid == kid), None)
        if found is None:
            # Another process (``ztd admin keys rotate``) may have added a key since.
            self._cache = None
            found = next((key for key in self.keys() if key.kid == kid), None)
        return found

    def rotate(self) -> SigningKey:
        """Create a new signing key; older keys stay for verification."""
        self.directory.mkdir(parents=True, exist_ok=True)
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        index = len(list(self.directory.glob("*.pem")))
        path = self.directory / f"{index:04d}-{_kid_of(private_key)}.pem"
        # The private key must never be world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        self._cache = None
        return SigningKey(_kid_of(private_key), private_key)


def _load(path: Path) -> SigningKey:
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return SigningKey(_kid_of(private_key), private_key)


def _kid_of(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]
