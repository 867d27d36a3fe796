"""`ztd admin ...`: partners, customers, tokens. Each prints only the id or token on stdout."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import IntegrityError

from ztd.cli import oem_commands
from ztd.cli.databases import prepare_database
from ztd.cli.durations import MAX_TOKEN_HOURS, token_hours
from ztd.cli.output import add_columns, console, plural, print_table
from ztd.server.auth.database_keys import DatabaseKeyStore
from ztd.server.auth.key_encryption import KeyEncryptionError, key_cipher, new_encryption_key
from ztd.server.auth.key_stores import open_key_store
from ztd.server.auth.keys import KeyStore, SigningKeys
from ztd.server.auth.tokens import OPERATOR_TENANT, Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.services.applications import add_application
from ztd.server.settings import Settings
from ztd.server.storage.database import Database


def register(app: typer.Typer) -> None:
    """Add `ztd admin ...` to the `ztd` app."""
    admin = typer.Typer(help="Administer partners, customers and tokens.", no_args_is_help=True)
    app.add_typer(admin, name="admin")
    partner = typer.Typer(help="Partners (CSP tenants).", no_args_is_help=True)
    partner.command("add")(partner_add)
    partner.command("list")(partner_list)
    admin.add_typer(partner, name="partner")
    customer = typer.Typer(help="Customers of a partner.", no_args_is_help=True)
    customer.command("list")(customer_list)
    customer.command("add")(customer_add)
    admin.add_typer(customer, name="customer")
    admin.command("token")(token)
    keys = typer.Typer(help="The built-in issuer's signing keys.", no_args_is_help=True)
    keys.command("rotate")(rotate)
    keys.command("import")(import_keys)
    keys.command("encryption-key")(encryption_key)
    admin.add_typer(keys, name="keys")
    app_group = typer.Typer(help="Client-credentials applications.", no_args_is_help=True)
    app_group.command("add")(app_add)
    admin.add_typer(app_group, name="app")
    oem_commands.register(admin)


def partner_add(
    name: str,
    partner_id: Annotated[str | None, typer.Option("--id", help="GUID to use.")] = None,
) -> None:
    """Add a partner; prints its id."""
    settings = Settings()
    db = prepare_database(settings)
    try:
        with db.write() as conn:
            existing = tenancy.partner_named(conn, name)
            if existing is None:
                typer.echo(tenancy.add_partner(conn, name, utc_now(), partner_id))
    except (ValueError, IntegrityError) as exc:
        _fail(f"cannot add partner: {_reason(exc)}")
    if existing is not None:
        _fail(f"cannot add partner: {_same_name('partner', existing)}")


def partner_list() -> None:
    """List the partners with their ids and how many customers each has."""
    settings = Settings()
    db = prepare_database(settings)
    with db.read() as conn:
        rows = tenancy.list_partners(conn)
    table = Table(title=plural(len(rows), "partner"))
    add_columns(table, ("id", "name", "customers", "created"), whole=("id", "created"))
    for row in rows:
        table.add_row(row.id, escape(row.name), str(row.customers), row.created)
    print_table(console(), table)


def customer_list(
    partner_id: Annotated[
        str | None,
        typer.Option("--partner", metavar="ID", help="Only this partner's customers."),
    ] = None,
) -> None:
    """List the customers (of one partner, or all) with their ids."""
    settings = Settings()
    db = prepare_database(settings)
    try:
        with db.read() as conn:
            rows = tenancy.list_customers(conn, partner_id)
    except ValueError as exc:
        _fail(f"--partner: {exc}")
    table = Table(title=plural(len(rows), "customer"))
    add_columns(table, ("id", "name", "partner", "created"), whole=("id", "partner", "created"))
    for row in rows:
        table.add_row(row.id, escape(row.name), row.partner_id, row.created)
    print_table(console(), table)


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
            existing = tenancy.customer_named(conn, partner_id, name)
            if existing is None:
                typer.echo(tenancy.add_customer(conn, name, partner_id, utc_now(), customer_id))
    except (ValueError, LookupError, IntegrityError) as exc:
        _fail(f"cannot add customer: {_reason(exc)}")
    if existing is not None:
        _fail(f"cannot add customer: {_same_name('customer of this partner', existing)}")


def _same_name(what: str, existing: tenancy.Named) -> str:
    """Why a second one of that name is refused: the lists and the console tell them apart
    by name only."""
    return (
        f"a {what} named {existing.name!r} already exists ({existing.id}); its id is the one "
        "to use, or give this one another name (lists and the console tell them apart by name)"
    )


def token(
    partner_id: Annotated[str | None, typer.Option("--partner", help="The partner's id.")] = None,
    role: Annotated[Role, typer.Option(help="The user's role.")] = Role.ADMIN_AGENT,
    app_only: Annotated[bool, typer.Option("--app", help="An app-only token.")] = False,
    operator: Annotated[
        bool,
        typer.Option("--operator", help="An operator token for the emulator's /_ztd/v1/."),
    ] = False,
    hours: Annotated[
        float,
        typer.Option(callback=token_hours, help=f"Lifetime in hours (at most {MAX_TOKEN_HOURS})."),
    ] = 1.0,
) -> None:
    """Print a bearer token for a partner (a user with ROLE, or --app), or --operator."""
    settings = Settings()
    db = prepare_database(settings)
    if operator:
        partner_id, role, app_only = OPERATOR_TENANT, Role.OPERATOR, False
    elif partner_id is None:
        _fail("give --partner <id> (or --operator for the emulator's control plane)")
    else:
        with db.read() as conn:
            if not tenancy.partner_exists(conn, partner_id):
                _fail(f"no partner with id {partner_id}; add it with `ztd admin partner add`")
    typer.echo(
        issue_token(
            _key_store(settings, db),
            issuer=settings.issuer,
            audience=settings.audience,
            partner_id=partner_id,
            roles=(role,),
            app_only=app_only,
            ttl=timedelta(hours=hours),
        )
    )


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
    console(stderr=True).print("The secret is shown only now; ztd keeps only its hash.")


def rotate() -> None:
    """Add a new signing key; tokens signed by older keys stay valid until they expire."""
    settings = Settings()
    typer.echo(_key_store(settings, prepare_database(settings)).rotate().kid)


def import_keys(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="DIR",
            help="The key directory to import. Default: ZTD_DATA_DIR/keys.",
        ),
    ] = None,
) -> None:
    """Copy a data directory's signing keys into the database; prints the kids copied."""
    # Needs ZTD_KEY_ENCRYPTION_KEY. Tokens the keys signed stay valid on every host, and
    # the newest imported key signs from then on.
    settings = Settings()
    source = directory or settings.data_dir / "keys"
    found = KeyStore(source).existing()
    if not found:
        _fail(f"no signing keys (*.pem) in {source}")
    try:
        store = DatabaseKeyStore(prepare_database(settings), key_cipher(settings))
        store.existing()  # refuses a key-encryption key other than the stored keys' one
    except KeyEncryptionError as exc:
        _fail(str(exc))
    for kid in store.import_keys(found):
        typer.echo(kid)
    console(stderr=True).print(
        f"{plural(len(found), 'key')} in {source}; the database now holds them all."
    )


def encryption_key() -> None:
    """Print a new key-encryption key for ZTD_KEY_ENCRYPTION_KEY (keys in the database)."""
    typer.echo(new_encryption_key())


def _key_store(settings: Settings, db: Database) -> SigningKeys:
    try:
        store = open_key_store(settings, db)
        store.keys()  # a wrong key-encryption key shows here, with its reason
    except KeyEncryptionError as exc:
        _fail(str(exc))
    return store


def _reason(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return "that id already exists"
    return str(exc)


def _fail(message: str) -> NoReturn:
    console(stderr=True).print(f"[red]error:[/] {message}")
    raise typer.Exit(1)
