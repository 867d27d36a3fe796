"""`ztd admin ...`: partners, customers, tokens. Each prints only the id or token on stdout."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import IntegrityError

from ztd.cli import oem_commands
from ztd.cli.server_commands import err, prepare_database
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import OPERATOR_TENANT, Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.services.applications import add_application
from ztd.server.settings import Settings


def register(app: typer.Typer) -> None:
    admin = typer.Typer(help="Administer partners, customers and tokens.", no_args_is_help=True)
    app.add_typer(admin, name="admin")
    partner = typer.Typer(help="Partners (CSP tenants).", no_args_is_help=True)
    customer = typer.Typer(help="Customers of a partner.", no_args_is_help=True)
    keys = typer.Typer(help="The built-in issuer's signing keys.", no_args_is_help=True)
    admin.add_typer(partner, name="partner")
    admin.add_typer(customer, name="customer")
    app_group = typer.Typer(help="Client-credentials applications.", no_args_is_help=True)
    admin.add_typer(keys, name="keys")
    admin.add_typer(app_group, name="app")
    oem_commands.register(admin)

    @partner.command("add")
    def partner_add(
        name: str,
        partner_id: Annotated[str | None, typer.Option("--id", help="GUID to use.")] = None,
    ) -> None:
        """Add a partner; prints its id."""
        settings = Settings()
        db = prepare_database(settings)
        try:
            with db.write() as conn:
                typer.echo(tenancy.add_partner(conn, name, utc_now(), partner_id))
        except (ValueError, IntegrityError) as exc:
            _fail(f"cannot add partner: {_reason(exc)}")

    @customer.command("add")
    def customer_add(
        name: str,
        partner_id: Annotated[str, typer.Option("--partner", help="The partner's id.")],
        customer_id: Annotated[str | None, typer.Option("--id", help="GUID to use.")] = None,
    ) -> None:
        """Add a customer under a partner; prints its id."""
        settings = Settings()
        db = prepare_database(settings)
        try:
            with db.write() as conn:
                typer.echo(tenancy.add_customer(conn, name, partner_id, utc_now(), customer_id))
        except (ValueError, LookupError, IntegrityError) as exc:
            _fail(f"cannot add customer: {_reason(exc)}")

    @admin.command("token")
    def token(
        partner_id: Annotated[
            str | None, typer.Option("--partner", help="The partner's id.")
        ] = None,
        role: Annotated[Role, typer.Option(help="The user's role.")] = Role.ADMIN_AGENT,
        app_only: Annotated[bool, typer.Option("--app", help="An app-only token.")] = False,
        operator: Annotated[
            bool,
            typer.Option("--operator", help="An operator token for the emulator's /_ztd/v1/."),
        ] = False,
        hours: Annotated[float, typer.Option(help="Lifetime in hours.")] = 1.0,
    ) -> None:
        """Print a bearer token for a partner (a user with ROLE, or --app), or --operator."""
        settings = Settings()
        if operator:
            partner_id, role, app_only = OPERATOR_TENANT, Role.OPERATOR, False
        elif partner_id is None:
            _fail("give --partner <id> (or --operator for the emulator's control plane)")
        else:
            db = prepare_database(settings)
            with db.read() as conn:
                if not tenancy.partner_exists(conn, partner_id):
                    _fail(f"no partner with id {partner_id}; add it with `ztd admin partner add`")
        typer.echo(
            issue_token(
                KeyStore(settings.data_dir / "keys"),
                issuer=settings.issuer,
                audience=settings.audience,
                partner_id=partner_id,
                roles=(role,),
                app_only=app_only,
                ttl=timedelta(hours=hours),
            )
        )

    @app_group.command("add")
    def app_add(
        partner_id: Annotated[str, typer.Option("--partner", help="The partner's id.")],
        name: Annotated[str, typer.Option(help="A name for the application.")] = "partner app",
    ) -> None:
        """Add a client-credentials application; prints its client id and secret (shown once)."""
        settings = Settings()
        db = prepare_database(settings)
        with db.write() as conn:
            if not tenancy.partner_exists(conn, partner_id):
                _fail(f"no partner with id {partner_id}; add it with `ztd admin partner add`")
            client_id, secret = add_application(conn, partner_id, name, utc_now())
        typer.echo(f"client_id={client_id}")
        typer.echo(f"client_secret={secret}")
        err.print("The secret is shown only now; ztd keeps only its hash.")

    @keys.command("rotate")
    def rotate() -> None:
        """Add a new signing key; tokens signed by older keys stay valid until they expire."""
        settings = Settings()
        typer.echo(KeyStore(settings.data_dir / "keys").rotate().kid)


def _reason(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return "that id already exists"
    return str(exc)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)
