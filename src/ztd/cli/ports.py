"""Is the port free? Asked before `ztd serve` prints its banner, so that a second
`make run` does not print a token and a curl line for a server that then fails to start."""

from __future__ import annotations

import errno
import socket

import typer
from rich.console import Console


def require_free_port(host: str, port: int, err: Console) -> None:
    """Exit 1 with the way out when ``host:port`` cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        err.print(f"[red]error:[/] --host {host}: {exc.strerror}", highlight=False)
        raise typer.Exit(1) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As the servers do: a port in TIME_WAIT after a restart counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "is in use (another `ztd serve` or `make run`?)"
            else:
                reason = f"cannot be used: {exc.strerror}"
            err.print(
                f"[red]error:[/] port {port} on {host} {reason}; choose another with "
                f"--port, e.g. `ztd serve --demo --port {port + 1}`",
                highlight=False,
            )
            raise typer.Exit(1) from None
