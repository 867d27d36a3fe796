"""Partner applications of the built-in issuer: client id + secret (stored only as a hash)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

from sqlalchemy import Connection, insert, select

from ztd.server.storage.database import Database
from ztd.server.storage.schema import applications

# scrypt parameters: deliberately slow to guess offline, fast enough per token request.
# How many hashes run at once is the secret pool's business (auth/secret_pool.py).
_N, _R, _P = 2**14, 8, 1
# What an unknown client id's secret is checked against: a well-formed hash that no secret
# matches, so that an unknown id costs exactly what a wrong secret does.
_NO_SECRET = (
    "scrypt$"
    + base64.b64encode(secrets.token_bytes(16)).decode()
    + "$"
    + base64.b64encode(bytes(32)).decode()
)


def client_key(client_id: str) -> str:
    """A client id as stored (and as the attempt limits count it)."""
    return client_id.strip().lower()


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


def authenticate_application(db: Database, client_id: str, secret: str) -> str | None:
    """The application's partner id when the secret matches, else None. Blocks for one
    secret hash whether or not the client exists (no timing oracle for client ids); the
    database connection is returned before hashing."""
    with db.read() as conn:
        row = conn.execute(
            select(applications.c.partner_id, applications.c.secret_hash).where(
                applications.c.client_id == client_key(client_id)
            )
        ).first()
    matches = _verify(secret, row.secret_hash if row is not None else _NO_SECRET)
    return str(row.partner_id) if row is not None and matches else None


def _hash(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def _verify(secret: str, stored: str) -> bool:
    try:
        _scheme, salt, _digest = stored.split("$")
        expected = _hash(secret, base64.b64decode(salt))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)
