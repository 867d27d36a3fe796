"""`ztd listen`: events as they happen, without an inbound port (as `stripe listen` does).

It registers a temporary listen channel for the caller, long-polls it
(GET /webhooks/v1/registration/{id}/listen), prints each event and, with ``--forward-to``,
POSTs it to a local URL exactly as signed by the service (the secret is printed at start, so
the local app can verify it). On exit (Ctrl-C, SIGTERM) the registration is removed; should
the command die, the server removes it a minute after the last poll.

Arguments are checked before anything is registered: a --forward-to that is not an http(s)
URL, or an --event type the server does not know (its GET /webhooks/v1/registration/events
lists them), exits 3 (invalid arguments) saying what is expected."""

from __future__ import annotations

import contextlib
import os
import signal
import types
from datetime import datetime
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.markup import escape

from ztd.cli._common import CONFIG_HELP, DEFAULT_URL, stderr, stdout
from ztd.cli.listen_forward import check_forward_url, forward, shown
from ztd.cli.output import EXIT_CALL_FAILED, EXIT_INVALID_INPUT, EXIT_OK, SUCCEEDED, fail
from ztd.client import DEFAULT_SCOPE, ClientCredentials

WAIT_SECONDS = 25  # per long poll; the server answers sooner when an event comes
FORWARD_TIMEOUT = 10.0


def register(app: typer.Typer) -> None:
    app.command("listen", epilog=CONFIG_HELP)(listen)


def listen(
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to",
            metavar="URL",
            help="POST each event here too (an http:// or https:// URL), with its Standard "
            "Webhooks signature headers; a refused connection is tried 3 more times.",
        ),
    ] = None,
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--event", "-e", metavar="TYPE", help="An event type, repeatable (default: all)."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print each event as one JSON line; with --forward-to, its outcome in "
            '"forwarded": {"status", "attempts"} or {"error", "attempts"}.',
        ),
    ] = False,
) -> None:
    """Print events as they happen (and forward them), until Ctrl-C."""
    if forward_to is not None and (problem := check_forward_url(forward_to)):
        fail(f"--forward-to: {problem}", EXIT_INVALID_INPUT)
    base = os.environ.get("ZTD_URL", "").strip().rstrip("/") or DEFAULT_URL
    # SIGTERM ends the command like Ctrl-C: the registration is removed either way.
    signal.signal(signal.SIGTERM, _interrupt)
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {_token(base)}"}, timeout=10.0
    ) as api:
        wanted = _event_types(api, events or [])
        created = _call(
            lambda: api.post(
                "/webhooks/v1/registration", json={"listen": True, "webhookEvents": wanted}
            ),
            201,
        )
        registration = created["id"]
        try:
            stderr().print(
                f"listening for {escape(', '.join(wanted))} (registration {registration}); "
                f"forwarded events are signed with {created['secret']}. Ctrl-C stops.",
                highlight=False,
            )
            _loop(api, registration, forward_to, as_json)
        except KeyboardInterrupt:
            pass
        finally:
            with contextlib.suppress(httpx.HTTPError):  # the server expires it anyway
                api.delete(f"/webhooks/v1/registration/{registration}", timeout=5.0)
    stderr().print("stopped; registration removed", highlight=False)
    raise typer.Exit(EXIT_OK)


def _interrupt(_signum: int, _frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt


def _event_types(api: httpx.Client, asked: list[str]) -> list[str]:
    """The event types to listen for: ``asked`` (each checked against the server's list),
    or all the server has."""
    known: list[str] = _call(lambda: api.get("/webhooks/v1/registration/events"), 200)
    unknown = [name for name in asked if name not in known]
    if unknown:
        fail(
            f"--event {unknown[0]!r} is not an event type; known: {', '.join(known)}",
            EXIT_INVALID_INPUT,
        )
    return list(dict.fromkeys(asked)) or known


def _loop(api: httpx.Client, registration: str, forward_to: str | None, as_json: bool) -> None:
    with httpx.Client(timeout=FORWARD_TIMEOUT, follow_redirects=False) as local:
        while True:
            batch = _call(
                lambda: api.get(
                    f"/webhooks/v1/registration/{registration}/listen",
                    params={"wait": WAIT_SECONDS},
                    timeout=WAIT_SECONDS + 10,
                ),
                200,
            )
            for item in batch["items"]:
                forwarded = forward(local, forward_to, item) if forward_to else None
                _show(item, forwarded, as_json)


def _show(item: dict[str, Any], forwarded: dict[str, Any] | None, as_json: bool) -> None:
    event = orjson.loads(item["payload"])
    if as_json:
        line = {"id": item["headers"]["webhook-id"], **event}
        if forwarded is not None:
            line["forwarded"] = forwarded
        typer.echo(orjson.dumps(line).decode())
        return
    data = event.get("data", {})
    what = data.get("trackingId") or data.get("batchId") or data.get("registrationId") or ""
    parts = [datetime.now().strftime("%H:%M:%S"), event.get("type", "?"), str(what)]
    outcomes = data.get("outcomes")
    if outcomes:
        parts.append(f"{outcomes['succeeded']} {SUCCEEDED}, {outcomes['failed']} failed")
    if forwarded is not None:
        parts.append(shown(forwarded))
    stdout().print(escape("  ".join(parts)), highlight=False)


def _call(send: Any, expected: int) -> Any:
    try:
        response: httpx.Response = send()
    except httpx.HTTPError as exc:
        fail(f"{exc} (is the server running? ZTD_URL sets where)", EXIT_CALL_FAILED)
    if response.status_code != expected:
        try:
            said = response.json().get("description", response.text)
        except ValueError:
            said = response.text
        fail(f"HTTP {response.status_code}: {said}", EXIT_CALL_FAILED)
    return response.json()


def _token(base: str) -> str:
    token = os.environ.get("ZTD_TOKEN", "").strip()
    if token:
        return token
    client_id = os.environ.get("ZTD_CLIENT_ID", "").strip()
    client_secret = os.environ.get("ZTD_CLIENT_SECRET", "").strip()
    if not (client_id and client_secret):
        fail(
            "no credentials: set ZTD_TOKEN (e.g. from `ztd admin token`), "
            "or ZTD_CLIENT_ID and ZTD_CLIENT_SECRET",
            EXIT_CALL_FAILED,
        )
    with ClientCredentials(base, client_id, client_secret) as credential:
        return credential.get_token(DEFAULT_SCOPE).token
