"""`ztd serve`, `ztd worker`, `ztd db upgrade`: running the service."""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import threading
from datetime import timedelta
from enum import StrEnum
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ztd.cli.databases import open_database, say_which_database, upgraded_database
from ztd.cli.output import console, plural
from ztd.cli.ports import require_free_port
from ztd.cli.readiness import announce_when_ready
from ztd.server.auth.key_encryption import KeyEncryptionError, configured
from ztd.server.auth.key_stores import open_key_store
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

err = Console(stderr=True)

APP_FACTORY = "ztd.server.app:create_app_from_env"
GRANIAN_APP_FACTORY = "ztd.server.http_limits:create_granian_app"  # adds what hyper lacks


class HttpServer(StrEnum):
    UVICORN = "uvicorn"
    GRANIAN = "granian"


# granian (Rust's hyper under the ASGI app) serves status polls 2-3 times faster than uvicorn
# on the same app (docs/performance.md), so it is what `ztd serve` runs unless told otherwise.
DEFAULT_SERVER = HttpServer.GRANIAN


def default_workers() -> int:
    """One API process per CPU core this process may run on (its affinity mask, which a
    container's CPU set narrows), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


DEMO_PARTNER_ID = "6f1c4b2e-8d3a-4e5f-9b7c-1a2d3e4f5a6b"
DEMO_CUSTOMER_ID = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"  # the docs' example customer


def check_key_store(settings: Settings, db: Database) -> None:
    """Refuse a bad key-encryption key before the server starts (its processes would each
    fail on their own), and say where tokens are accepted when several hosts may serve."""
    try:
        open_key_store(settings, db).keys()
    except KeyEncryptionError as exc:  # not the key the stored keys were encrypted with
        console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if not db.is_sqlite and not configured(settings):
        err.print(
            f"Signing keys are files under {settings.data_dir / 'keys'}: only servers sharing "
            "that directory accept each other's tokens. To share them through the database, "
            "set ZTD_KEY_ENCRYPTION_KEY (see `ztd admin keys --help`)."
        )


def seed_demo(db: Database, settings: Settings) -> str:
    """Create the demo partner and customer if missing; return a day-long admin token."""
    now = utc_now()
    with db.write() as conn:
        if not tenancy.partner_exists(conn, DEMO_PARTNER_ID):
            tenancy.add_partner(conn, "Demo Partner", now, DEMO_PARTNER_ID)
            tenancy.add_customer(conn, "Contoso (demo)", DEMO_PARTNER_ID, now, DEMO_CUSTOMER_ID)
    return issue_token(
        open_key_store(settings, db),
        issuer=settings.issuer,
        audience=settings.audience,
        partner_id=DEMO_PARTNER_ID,
        roles=(Role.ADMIN_AGENT,),
        ttl=timedelta(hours=24),
    )


def register(app: typer.Typer) -> None:
    """Add `ztd serve`, `ztd worker` and `ztd db upgrade` to the `ztd` app."""
    app.command("serve")(serve)
    app.command("worker")(worker)
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    app.add_typer(db_app, name="db")


def db_upgrade() -> None:
    """Migrate the database (ZTD_DATABASE_URL, else the SQLite default) to the latest schema."""
    settings = Settings()
    db, revision = upgraded_database(settings)
    db.dispose()
    err.print(f"database at revision {revision}")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="API processes. Default: one per CPU core.", min=1),
    ] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run the embedded job worker.")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed a demo partner and customer; print a token.")
    ] = False,
    server: Annotated[
        HttpServer,
        typer.Option(help="HTTP server: granian (the fastest), or uvicorn."),
    ] = DEFAULT_SERVER,
) -> None:
    """Run the API server (with an embedded job worker unless --no-worker)."""
    require_free_port(host, port, err)
    workers = workers or default_workers()
    if workers > 1:  # first: granian forks this process, so metrics must not exist yet
        shared_metrics_dir()
    settings = Settings()
    say_which_database(settings)
    db = open_database(settings)
    check_key_store(settings, db)
    processes = plural(workers, "process", "processes")
    err.print(f"serving http://{host}:{port} with {server.value}, {processes}")
    if demo:
        token = seed_demo(db, settings)
        _print_demo(token, host, port)
    db.dispose()
    if no_worker:
        os.environ["ZTD_EMBEDDED_WORKER"] = "false"
    announce_when_ready(err, host, port)
    if server is HttpServer.GRANIAN:
        from granian import Granian
        from granian.constants import Interfaces

        from ztd.server.http_limits import granian_http1_settings, limits_from_env

        # Fresh worker processes, as uvicorn starts them: a forked one would inherit this
        # process's imports, and prometheus-client picks its multiprocess mode on import.
        multiprocessing.set_start_method("spawn", force=True)
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
        log_config=None,  # each process's app configures logging (ZTD_LOG_FORMAT)
        access_log=False,  # ztd.access writes one line a request, with its ids
    )


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Process what is queued, then exit.")
    ] = False,
    metrics_port: Annotated[
        int,
        typer.Option(
            help="Serve this worker's Prometheus metrics on this port (0: none).", min=0, max=65535
        ),
    ] = 0,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
) -> None:
    """Run a standalone job worker until SIGINT/SIGTERM."""
    from ztd.server import heap
    from ztd.server.jobs.worker import Worker
    from ztd.server.observe import logs, tracing

    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    say_which_database(settings)
    db = open_database(settings)
    tracing.setup([db.write_engine, db.read_engine])  # OTEL_* variables, ztd[otel]
    job_worker = Worker(db, settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
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


def shared_metrics_dir() -> None:
    """Several server processes share their metrics through files (prometheus-client's
    multiprocess mode): a fresh directory unless the operator named one. Set before the
    processes start, as the mode is chosen when prometheus_client is first imported."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ztd-metrics-")


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
    err.print(
        f"docs       : {base}/docs (Authorize: paste the token), {base}/redoc", soft_wrap=True
    )
    err.rule()
