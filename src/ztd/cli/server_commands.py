"""`ztd serve`, `ztd worker`, `ztd db upgrade`: running the service."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from enum import StrEnum
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from ztd.cli.ports import require_free_port
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database

err = Console(stderr=True)

APP_FACTORY = "ztd.server.app:create_app_from_env"
GRANIAN_APP_FACTORY = "ztd.server.http_limits:create_granian_app"  # adds what hyper lacks


class HttpServer(StrEnum):
    UVICORN = "uvicorn"
    GRANIAN = "granian"


DEMO_PARTNER_ID = "6f1c4b2e-8d3a-4e5f-9b7c-1a2d3e4f5a6b"
DEMO_CUSTOMER_ID = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"  # the docs' example customer


def prepare_database(settings: Settings) -> Database:
    """Open the database; migrate the embedded SQLite default, insist on a current schema
    elsewhere (operators migrate PostgreSQL deliberately with `ztd db upgrade`)."""
    db = Database(settings.resolved_database_url)
    if db.is_sqlite:
        migrate.upgrade(db)
    elif not migrate.is_current(db):
        err.print(
            "[red]The database schema is not current.[/] Run `ztd db upgrade` with the same "
            "ZTD_DATABASE_URL first."
        )
        raise typer.Exit(2)
    return db


def seed_demo(db: Database, settings: Settings) -> str:
    """Create the demo partner and customer if missing; return a day-long admin token."""
    now = utc_now()
    with db.write() as conn:
        if not tenancy.partner_exists(conn, DEMO_PARTNER_ID):
            tenancy.add_partner(conn, "Demo Partner", now, DEMO_PARTNER_ID)
            tenancy.add_customer(conn, "Contoso (demo)", DEMO_PARTNER_ID, now, DEMO_CUSTOMER_ID)
    return issue_token(
        KeyStore(settings.data_dir / "keys"),
        issuer=settings.issuer,
        audience=settings.audience,
        partner_id=DEMO_PARTNER_ID,
        roles=(Role.ADMIN_AGENT,),
        ttl=timedelta(hours=24),
    )


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Migrate the database (ZTD_DATABASE_URL, else the SQLite default) to the latest schema."""
        settings = Settings()
        db = Database(settings.resolved_database_url)
        migrate.upgrade(db)
        err.print(f"database at revision {migrate.current_revision(db)}")

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option(help="API processes.")] = 1,
        no_worker: Annotated[
            bool, typer.Option("--no-worker", help="Do not run the embedded job worker.")
        ] = False,
        demo: Annotated[
            bool, typer.Option("--demo", help="Seed a demo partner and customer; print a token.")
        ] = False,
        server: Annotated[
            HttpServer,
            typer.Option(help="HTTP server: uvicorn, or granian (about 1.7x the status polls)."),
        ] = HttpServer.UVICORN,
    ) -> None:
        """Run the API server (with an embedded job worker unless --no-worker)."""
        require_free_port(host, port, err)
        settings = Settings()
        db = prepare_database(settings)
        if demo:
            token = seed_demo(db, settings)
            _print_demo(token, host, port)
        db.dispose()
        if no_worker:
            os.environ["ZTD_EMBEDDED_WORKER"] = "false"
        if server is HttpServer.GRANIAN:
            from granian import Granian
            from granian.constants import Interfaces

            from ztd.server.http_limits import granian_http1_settings, limits_from_env

            Granian(
                GRANIAN_APP_FACTORY,
                address=host,
                port=port,
                interface=Interfaces.ASGI,
                workers=workers,
                factory=True,
                websockets=False,
                http1_settings=granian_http1_settings(limits_from_env()),
            ).serve()
            return
        import uvicorn

        from ztd.server.http_limits import UVICORN_PROTOCOL

        uvicorn.run(
            APP_FACTORY,
            factory=True,
            http=UVICORN_PROTOCOL,  # request limits and slow-client timeouts
            host=host,
            port=port,
            workers=workers,
            date_header=False,
            server_header=False,
            log_level="info",
        )

    @app.command()
    def worker(
        once: Annotated[
            bool, typer.Option("--once", help="Process what is queued, then exit.")
        ] = False,
    ) -> None:
        """Run a standalone job worker until SIGINT/SIGTERM."""
        from ztd.server import heap
        from ztd.server.jobs.worker import Worker

        settings = Settings()
        db = prepare_database(settings)
        job_worker = Worker(db, settings)
        if once:
            job_worker.run_until_idle()
            return
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()
            job_worker.wakeup.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        err.print(f"worker {job_worker.name} processing jobs (Ctrl-C to stop)")
        heap.settle()
        job_worker.run_forever(stop)


def _print_demo(token: str, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    err.rule("ztd demo")
    err.print(f"partner id : {DEMO_PARTNER_ID}")
    err.print(f"customer id: {DEMO_CUSTOMER_ID}")
    err.print(f"token      : {token}", soft_wrap=True)
    err.print(f"console    : {base}/console")
    # The token rides in the fragment, which browsers never send: it stays out of logs.
    err.print(f"sign in    : {base}/console/sign-in#token={token}", soft_wrap=True)
    err.print("try:", style="bold")
    err.print(
        f"curl -s -H 'Authorization: Bearer {token}' "
        f"{base}/v1/customers/{DEMO_CUSTOMER_ID}/deviceBatches",
        soft_wrap=True,
    )
    err.rule()
