"""One line, not a traceback, when the CLI cannot open or migrate its database.

Every way a database fails to open (no such database, nothing listening, wrong password,
tables of another application, a driver that is not installed, a SQLite file that cannot be
created) is a setup mistake the operator fixes by hand, so it is said as what failed, which
database (password hidden) and what to do, with exit code 2 like any other usage error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.markup import escape
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from ztd.cli.output import console
from ztd.server.storage import migrate
from ztd.server.url_text import shown_url

EXIT_CODE = 2
SUPPORTED = "ztd supports postgresql://user:password@host:port/name and sqlite:///path"


@contextmanager
def database_faults(url: str, doing: str) -> Iterator[None]:
    """Turn a failure to open or migrate the database at ``url`` while ``doing`` (e.g.
    "open", "migrate") into one line on stderr and `typer.Exit` (code 2)."""
    try:
        yield
    except migrate.UnknownRevisionError as exc:
        refuse(str(exc))
    except DBAPIError as exc:
        refuse(_line(url, doing, _first_line(exc.orig), _hint_for_driver_error(exc, url)))
    except NoSuchModuleError:
        refuse(_line(url, doing, "this kind of database is not supported", SUPPORTED))
    except ArgumentError as exc:
        refuse(_line(url, doing, f"the URL is not valid ({_first_line(exc)})", SUPPORTED))
    except ImportError as exc:  # a SQLAlchemy dialect whose driver is not installed
        refuse(_line(url, doing, f"its driver is not installed ({exc.name})", SUPPORTED))
    except OSError as exc:  # the SQLite file or its directory cannot be made
        refuse(
            _line(
                url,
                doing,
                f"{exc.strerror or exc}: {exc.filename}",
                "Set ZTD_DATA_DIR (or ZTD_DATABASE_URL) to a directory this user can write",
            )
        )
    except SQLAlchemyError as exc:
        refuse(_line(url, doing, _first_line(exc), "check ZTD_DATABASE_URL"))


def refuse(message: str) -> NoReturn:
    console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(EXIT_CODE)


def _line(url: str, doing: str, what: str, hint: str) -> str:
    return f"cannot {doing} the database {shown_url(url)}: {what}. {hint}."


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    line = text.splitlines()[0].rstrip(".") if text else type(exc).__name__
    return line.removeprefix("connection failed: ")


def _hint_for_driver_error(exc: DBAPIError, url: str) -> str:
    """What to do, by the kind of driver error: SQLSTATE where PostgreSQL gives one."""
    state = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig)
    # A refused connection carries no SQLSTATE: PostgreSQL's FATAL is only in its text.
    if state is None and "FATAL" in text:
        if "database" in text and "does not exist" in text:
            state = "3D000"
        elif "password authentication failed" in text or "role" in text:
            state = "28P01"
    if state == "42P07":  # duplicate_table: another application's tables
        return (
            "It already holds tables ztd did not make: point ZTD_DATABASE_URL at an empty "
            "database of ztd's own"
        )
    if state == "3D000":  # invalid_catalog_name
        return "Create it first (createdb), or correct the name in ZTD_DATABASE_URL"
    if state in {"28P01", "28000"}:  # invalid password / no such role or no access
        return "Check the user and password in ZTD_DATABASE_URL"
    if url.startswith("sqlite"):
        return "Check that the file's directory exists and that this user can write both"
    if isinstance(exc, OperationalError) and state is None:  # no connection at all
        return "Check that the database server is running and reachable at that host and port"
    return "Check ZTD_DATABASE_URL and the database's state"
