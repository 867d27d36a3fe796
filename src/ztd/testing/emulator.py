"""The in-process emulator: ztd's real app under uvicorn in a thread, on a free port."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn

from ztd.server.app import create_app
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import OPERATOR_TENANT, Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.http_limits import UVICORN_PROTOCOL
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.testing.control import ControlClient


@dataclass(frozen=True)
class Tenant:
    """A partner with one customer, and a token of the partner's admin agent."""

    partner_id: str
    customer_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Emulator(ControlClient):
    """A running emulator: ``base_url``, tenant factories and the control plane."""

    def __init__(self, base_url: str, settings: Settings, db: Database) -> None:
        self.base_url = base_url
        self.settings = settings
        self.db = db
        self.keys = KeyStore(settings.data_dir / "keys")
        super().__init__(base_url, self.token(OPERATOR_TENANT, role=Role.OPERATOR))

    def token(
        self, partner_id: str, *, role: Role = Role.ADMIN_AGENT, app_only: bool = False
    ) -> str:
        return issue_token(
            self.keys,
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            partner_id=partner_id,
            roles=(role,),
            app_only=app_only,
            ttl=timedelta(hours=12),
        )

    def add_partner(self, name: str = "Test Partner") -> str:
        with self.db.write() as conn:
            return tenancy.add_partner(conn, name, utc_now())

    def add_customer(self, partner_id: str, name: str = "Test Customer") -> str:
        with self.db.write() as conn:
            return tenancy.add_customer(conn, name, partner_id, utc_now())

    def tenant(self, name: str = "Test") -> Tenant:
        """A new partner, its customer and a token: each test can have its own world."""
        partner = self.add_partner(f"{name} Partner")
        customer = self.add_customer(partner, f"{name} Customer")
        return Tenant(partner, customer, self.token(partner))


@contextmanager
def emulator(data_dir: Path | None = None, **settings: Any) -> Iterator[Emulator]:
    """Start an emulator; ``settings`` override ztd settings (``journal`` is on, polling fast).
    Without ``data_dir`` a temporary directory is used and removed afterwards."""
    owned = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="ztd-emulator-")) if owned else data_dir
    assert directory is not None
    port = _free_port()
    values: dict[str, Any] = {
        "data_dir": directory,
        "issuer": f"http://127.0.0.1:{port}",
        "journal": True,
        "poll_interval_seconds": 0.05,
        "lease_seconds": 5.0,
    }
    values.update(settings)
    resolved = Settings(**values)
    db = Database(resolved.resolved_database_url)
    migrate.upgrade(db)  # a throwaway database, or one the tests own
    app = create_app(resolved, db=db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=UVICORN_PROTOCOL)
    )
    thread = threading.Thread(target=server.run, daemon=True, name="ztd-emulator")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the ztd emulator did not start")
        time.sleep(0.01)
    emu = Emulator(f"http://127.0.0.1:{port}", resolved, db)
    try:
        yield emu
    finally:
        emu.close()
        server.should_exit = True
        thread.join(15)
        db.dispose()
        if owned:
            shutil.rmtree(directory, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
