"""Signing keys in the database (ZTD_KEY_ENCRYPTION_KEY set): every process sharing the
database signs with the same key and accepts every other's tokens, a rotation elsewhere is
seen within seconds, private keys are stored encrypted, and requests never wait for the
database (the status fast lane asks `holds` on the event loop)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from sqlalchemy import delete, insert, select
from typer.testing import CliRunner

from tests.support.waiting import wait_until
from ztd.cli.main import app as cli
from ztd.server.auth.database_keys import DatabaseKeyStore
from ztd.server.auth.key_encryption import KeyCipher, KeyEncryptionError, key_cipher
from ztd.server.auth.key_stores import open_key_store
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import InvalidToken, TokenValidator, issue_token
from ztd.server.settings import Settings
from ztd.server.settings_errors import explain
from ztd.server.storage.database import Database
from ztd.server.storage.schema import partners, signing_keys

KEK = Fernet.generate_key().decode()
PARTNER = "6f1c4b2e-8d3a-4e5f-9b7c-1a2d3e4f5a6b"


def _store(db: Database, key: str = KEK) -> DatabaseKeyStore:
    return DatabaseKeyStore(db, KeyCipher(key, "ZTD_KEY_ENCRYPTION_KEY"))


def _token(store: DatabaseKeyStore, settings: Settings) -> str:
    return issue_token(
        store, issuer=settings.issuer, audience=settings.audience, partner_id=PARTNER
    )


def test_two_hosts_accept_each_others_tokens_and_follow_a_rotation(
    db: Database, settings: Settings
) -> None:
    host_a, host_b = _store(db), _store(db)
    validator_b = TokenValidator(settings, host_b)
    assert host_a.current().kid == host_b.current().kid  # one key, not one per host
    assert validator_b.validate(_token(host_a, settings)).partner_id == PARTNER

    rotated = host_a.rotate()
    assert host_a.current().kid == rotated.kid
    # A token signed with the new key verifies on the other host at once (unknown kid) ...
    assert validator_b.validate(_token(host_a, settings)).partner_id == PARTNER
    # ... and the other host signs with it after its next look.
    host_b.REFRESH_SECONDS = 0
    wait_until(lambda: host_b.current().kid == rotated.kid)


def test_private_keys_are_stored_encrypted(db: Database) -> None:
    kid = _store(db).current().kid
    with db.read() as conn:
        stored = conn.execute(select(signing_keys.c.private_key)).scalar_one()
    assert "PRIVATE KEY" not in stored and "MII" not in stored
    with pytest.raises(KeyEncryptionError, match=f"signing key {kid} .* does not decrypt"):
        _store(db, Fernet.generate_key().decode()).keys()


def test_a_deleted_key_stops_verifying_within_a_refresh(db: Database, settings: Settings) -> None:
    store = _store(db)
    validator = TokenValidator(settings, store)
    old_token = _token(store, settings)
    old_kid = store.current().kid
    validator.validate(old_token)
    store.rotate()
    with db.write() as conn:  # the operator revokes the old key
        conn.execute(delete(signing_keys).where(signing_keys.c.kid == old_kid))
    store.REFRESH_SECONDS = 0
    wait_until(lambda: validator.cached(old_token) is None)
    with pytest.raises(InvalidToken):
        validator.validate(old_token)
    assert validator.validate(_token(store, settings)).partner_id == PARTNER


def test_forged_kids_do_not_query_per_request(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(db)
    store.current()
    refreshes: list[None] = []
    refresh = store._refresh
    monkeypatch.setattr(store, "_refresh", lambda: refreshes.append(None) or refresh())
    for n in range(50):
        assert store.by_kid(f"forged-{n}") is None
    assert len(refreshes) == 1  # one re-read for the first unknown kid, then the limit


def test_holds_never_waits_for_the_database(db: Database) -> None:
    store = _store(db)
    kid = store.current().kid
    store.REFRESH_SECONDS = 0  # a refresh is due on every call
    asker = ThreadPoolExecutor(1)
    try:
        with store._lock:  # a refresh in progress (a slow database) ...
            answer = asker.submit(store.holds, kid)  # ... does not hold up the answer
            assert answer.result(timeout=30)  # (it would wait for the lock forever)
    finally:
        asker.shutdown()


def test_processes_starting_together_make_one_key(db: Database) -> None:
    stores = [_store(db) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    kids: list[str] = []

    def start(store: DatabaseKeyStore) -> None:
        barrier.wait()
        kids.append(store.current().kid)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(kids)) == 1 and len(kids) == len(stores)
    with db.read() as conn:
        assert len(conn.execute(select(signing_keys.c.kid)).all()) == 1


def test_file_keys_import_keeps_their_tokens_valid(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    files = KeyStore(tmp_path / "keys")
    old_token = issue_token(
        files, issuer=settings.issuer, audience=settings.audience, partner_id=PARTNER
    )
    store = _store(db)
    assert store.import_keys(files.existing()) == [files.current().kid]
    assert store.import_keys(files.existing()) == []  # twice is harmless
    assert store.current().kid == files.current().kid  # the imported key signs on
    assert TokenValidator(settings, _store(db)).validate(old_token).partner_id == PARTNER


def test_the_store_is_chosen_by_the_key_encryption_key(db: Database, settings: Settings) -> None:
    assert isinstance(open_key_store(settings, db), KeyStore)  # the embedded default
    shared = settings.model_copy(update={"key_encryption_key": SecretStr(KEK)})
    assert isinstance(open_key_store(shared, db), DatabaseKeyStore)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-a-key", "key 1 of 1 has 9 characters, not 44"),
        (f"{KEK},{KEK[:-2]}", "key 2 of 2 has 42 characters, not 44"),
        ("!" * 44, "key 1 of 1 is not 32 bytes in URL-safe base64"),
        (" , ", "it holds no key"),
        ("", "it holds no key"),
    ],
    ids=["short", "second-short", "not-base64", "commas-only", "empty"],  # KEK is random
)
def test_a_malformed_key_encryption_key_is_named_without_echoing_it(
    value: str, message: str
) -> None:
    """Refused when the settings are read (one line, as any setting), and by the cipher
    itself (its source, e.g. a file read later) in the same words."""
    with pytest.raises(ValidationError) as refused:
        Settings(key_encryption_key=value)
    said = explain(refused.value)
    assert said.startswith(f"ZTD_KEY_ENCRYPTION_KEY=(hidden): {message}"), said
    assert "`ztd admin keys encryption-key` makes one" in said
    with pytest.raises(KeyEncryptionError, match=message) as failed:
        KeyCipher(value, "ZTD_KEY_ENCRYPTION_KEY_FILE /run/kek")
    assert str(failed.value).startswith("ZTD_KEY_ENCRYPTION_KEY_FILE /run/kek: ")
    for shown in (said, str(failed.value)):
        assert value.strip(" ,") not in shown or not value.strip(" ,")


def test_the_key_encryption_key_can_come_from_a_file(tmp_path: Path) -> None:
    mounted = tmp_path / "kek"
    mounted.write_text(KEK + "\n")
    cipher = key_cipher(Settings(key_encryption_key_file=mounted))
    assert cipher.decrypt(KeyCipher(KEK, "env").encrypt(b"pem"), "k") == b"pem"
    with pytest.raises(ValidationError, match="cannot read it"):
        Settings(key_encryption_key_file=tmp_path / "absent")
    (tmp_path / "short").write_text("abc")
    with pytest.raises(ValidationError, match="key 1 of 1 has 3 characters"):
        Settings(key_encryption_key_file=tmp_path / "short")
    with pytest.raises(ValidationError, match="not both"):
        Settings(key_encryption_key=KEK, key_encryption_key_file=mounted)
    mounted.unlink()  # gone after the settings were read: the cipher says so
    with pytest.raises(KeyEncryptionError, match=f"ZTD_KEY_ENCRYPTION_KEY_FILE {mounted}: cannot"):
        key_cipher(Settings().model_copy(update={"key_encryption_key_file": mounted}))


def test_a_database_whose_keys_were_all_deleted_gets_a_new_one(db: Database) -> None:
    store = _store(db)
    old = store.current().kid
    with db.write() as conn:
        conn.execute(delete(signing_keys))
    store.REFRESH_SECONDS = 0
    store.keys()  # notices in the background ...
    wait_until(lambda: store.current().kid != old)  # ... and signs with a new key


@pytest.mark.parametrize(
    "command",
    [
        ["admin", "token", "--partner", PARTNER],
        ["admin", "keys", "rotate"],
        ["admin", "keys", "import"],
    ],
)
def test_admin_commands_refuse_a_key_encryption_key_that_is_not_the_stored_keys_one(
    db: Database, settings: Settings, command: list[str]
) -> None:
    _store(db).current()  # keys stored with KEK
    KeyStore(settings.data_dir / "keys").current()  # something to import
    env = {
        "ZTD_DATA_DIR": str(settings.data_dir),
        "ZTD_DATABASE_URL": settings.resolved_database_url,
        "ZTD_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "COLUMNS": "300",
    }
    with db.write() as conn:
        conn.execute(
            insert(partners).values(id=PARTNER, name="Fabrikam", created_at=datetime.now(UTC))
        )
    result = CliRunner().invoke(cli, command, env=env)
    assert result.exit_code == 1, result.output
    assert "does not decrypt with ZTD_KEY_ENCRYPTION_KEY" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
