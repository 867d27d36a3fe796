"""The signing key store follows its directory (another process rotates, an operator
deletes a compromised key) without letting tokens that name unknown keys make it re-read
every key file (found in review: one forged token cost ~40 ms of key parsing)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.key_starter import start_on
from tests.support.world import World, make_token
from ztd.server.auth import keys as keys_module
from ztd.server.auth.keys import KeyStore
from ztd.server.settings import Settings


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the key files parsed from here on."""
    names: list[str] = []
    load = keys_module._load

    def counting(path: Path) -> keys_module.SigningKey:
        names.append(path.name)
        return load(path)

    monkeypatch.setattr(keys_module, "_load", counting)
    return names


def test_unknown_kids_do_not_reparse_the_keys(tmp_path: Path, parsed: list[str]) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.current()
    assert len(parsed) == 1  # the key it just made
    for n in range(50):
        assert store.by_kid(f"forged-{n}") is None
    assert len(parsed) == 1
    assert store.by_kid(first.kid) is not None


def test_a_key_added_or_deleted_elsewhere_is_noticed(tmp_path: Path, parsed: list[str]) -> None:
    serving = KeyStore(tmp_path / "keys")
    old = serving.current()
    admin = KeyStore(tmp_path / "keys")  # `ztd admin keys rotate`, another process
    new = admin.rotate()
    assert serving.by_kid(new.kid) is not None  # a token signed with it verifies at once
    assert [name[:4] for name in parsed] == ["0000", "0000", "0001", "0001"]  # once per store
    serving.REFRESH_SECONDS = 0  # the next look is due (normally within 5 s)
    assert serving.current().kid == new.kid  # ... and the new key signs
    sorted((tmp_path / "keys").glob("*.pem"))[0].unlink()
    assert not serving.holds(old.kid) and serving.holds(new.kid)


def test_rotation_after_a_deletion_still_makes_the_newest_key_sign(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.current()
    store.rotate()
    store.rotate()
    oldest_file = sorted((tmp_path / "keys").glob("*.pem"))[0]
    oldest_file.unlink()  # numbering by count would now reuse the newest key's number
    latest = store.rotate()
    assert store.current().kid == latest.kid
    assert [p.name[:4] for p in sorted((tmp_path / "keys").glob("*.pem"))] == [
        "0001",
        "0002",
        "0003",
    ]


def test_a_deleted_key_stops_verifying_tokens_already_seen(
    client: TestClient, world: World, settings: Settings
) -> None:
    url = f"/v1/customers/{world.customer}/deviceBatches"
    token = make_token(settings, world.partner)
    assert client.get(url, headers=world.auth(token)).status_code == 200  # verified, cached
    key_files = list((settings.data_dir / "keys").glob("*.pem"))
    store: KeyStore = client.app.state.ztd.keys  # type: ignore[attr-defined]
    store.rotate()
    for path in key_files:
        path.unlink()  # the compromised key is revoked
    store.REFRESH_SECONDS = 0
    assert client.get(url, headers=world.auth(token)).status_code == 401
    assert (
        client.get(url, headers=world.auth(make_token(settings, world.partner))).status_code == 200
    )


def test_processes_starting_on_a_fresh_directory_make_one_key(tmp_path: Path) -> None:
    """Found in review: two servers started on a new data directory made a key each, so
    each one's tokens failed on the other until their next refresh."""
    starters = 3
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as `ztd serve` is
    barrier = context.Barrier(starters)
    queue: Queue[str] = context.Queue()
    processes = [
        context.Process(target=start_on, args=(tmp_path / "keys", barrier, queue))
        for _ in range(starters)
    ]
    for process in processes:
        process.start()
    kids = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(10)
        assert process.exitcode == 0
    files = sorted(p.name for p in (tmp_path / "keys").iterdir() if p.suffix == ".pem")
    assert len(set(kids)) == 1, kids
    assert files == [f"0000-{kids[0]}.pem"]
    assert not [p for p in (tmp_path / "keys").iterdir() if p.name.endswith(".partial")]


def test_a_key_deleted_while_the_directory_is_read_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator retiring a key between the listing and the read: the store carries on
    with the keys that are still there instead of raising (a 500 on the request)."""
    store = KeyStore(tmp_path / "keys")
    kept = store.current()
    ghost = store.directory / "9999-gone.pem"
    listed = store._files

    def listing_a_file_already_gone() -> list[Path]:
        return [*listed(), ghost]

    monkeypatch.setattr(store, "_files", listing_a_file_already_gone)
    store._refresh()
    assert store.by_kid(kept.kid) is not None
    assert [key.kid for key in store._keys] == [kept.kid]
