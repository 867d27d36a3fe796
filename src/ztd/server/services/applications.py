"""Partner applications of the built-in issuer: client id + secret (stored only as a hash)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import uuid
from datetime import datetime

from sqlalchemy import Connection, insert, select

from ztd.server.storage.schema import applications

# scrypt parameters: deliberately slow to guess offline, fast enough per token request.
_N, _R, _P = 2**14, 8, 1
# Each scrypt holds 128 * r * n bytes (16 MiB): however many token requests arrive at once
# (any client id costs one, so that unknown ids take as long), at most this many run.
MAX_CONCURRENT_HASHES = 4
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


def add_application(conn: Connection, partner_id: str, name: str, now: datetime) -> tuple[str, str]:
    """Create an application; returns (client_id, secret). The secret is not kept."""
    client_id = str(uuid.uuid4())
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(applications).values(
            client_id=client_id,
            partner_id=partner_id,
            name=name,
            secret_hash=_hash(secret),
            created_at=now,
        )
    )
    return client_id, secret


def authenticate_application(conn: Connection, client_id: str, secret: str) -> str | None:
    """The application's partner id when the secret matches, else None."""
    row = conn.execute(
        select(applications.c.partner_id, applications.c.secret_hash).where(
            applications.c.client_id == client_id.strip().lower()
        )
    ).first()
    if row is None:
        _hash(secret)  # same work whether or not the client exists: no timing oracle
        return None
    return str(row.partner_id) if _verify(secret, row.secret_hash) else None


def _hash(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    with _hashing:
        digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def _verify(secret: str, stored: str) -> bool:
    try:
        _scheme, salt, _digest = stored.split("$")
        expected = _hash(secret, base64.b64decode(salt))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)
