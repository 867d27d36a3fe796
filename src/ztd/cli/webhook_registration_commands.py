"""`ztd webhooks list|add|update|delete|test|rotate|replay`: the partner's webhook
registrations managed through the SDK (``partner.webhooks``), so that the id
`ztd webhooks deliveries` needs is found without curl. Arguments are checked before
anything is sent (exit code 3); the service's refusals exit 1 with its message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ztd.cli import durations
from ztd.cli._common import (
    CONFIG_HELP,
    JsonOption,
    calling,
    echo_json,
    open_client,
    stderr,
    stdout,
    subgroup,
    wire_list,
)
from ztd.cli.output import (
    EXIT_CALL_FAILED,
    EXIT_CODES,
    EXIT_INVALID_INPUT,
    add_columns,
    fail,
    plural,
    print_table,
    shown_time,
)
from ztd.client import ConflictError
from ztd.client.webhooks import DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS
from ztd.wire import WebhookRegistration, WebhookReplaySkipped

RegistrationId = Annotated[
    str, typer.Argument(metavar="ID", help="The registration's id (see `ztd webhooks list`).")
]
Url = Annotated[str, typer.Argument(metavar="URL", help="The http(s):// endpoint to POST to.")]
Events = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        metavar="TYPE",
        help="An event type to send (repeatable), e.g. devicebatch.job.completed.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the registration commands to the `ztd webhooks` group."""
    webhooks = subgroup(app, "webhooks")
    epilog = f"{CONFIG_HELP} {EXIT_CODES}"
    for name, command in (
        ("list", list_registrations),
        ("add", add),
        ("update", update),
        ("delete", delete),
        ("test", send_test),
        ("rotate", rotate),
        ("replay", replay),
    ):
        webhooks.command(name, epilog=epilog)(command)


def list_registrations(as_json: JsonOption = False) -> None:
    """List the webhook registrations: id, URL, events, status (why, when disabled)."""
    with calling(), open_client() as partner:
        found = list(partner.webhooks.registrations.list())
    if as_json:
        echo_json(wire_list(found))
        return
    if not found:
        stdout().print(
            "no webhook registrations; add one with `ztd webhooks add URL --event TYPE`",
            highlight=False,
        )
        return
    table = Table(title=plural(len(found), "registration"))
    add_columns(table, ("id", "URL", "events", "status"), whole=("id",))
    for registration in found:
        table.add_row(
            escape(registration.id),
            escape(registration.webhook_url or "(listen channel)"),
            escape("\n".join(registration.webhook_events)),
            escape(_status(registration)),
        )
    print_table(stdout(), table)


def add(url: Url, event: Events = None, as_json: JsonOption = False) -> None:
    """Register URL for the --event types; prints its id and signing secret (shown once)."""
    events = _events(event, "add URL")
    with calling(), open_client() as partner:
        made = partner.webhooks.registrations.create(url, events)
    _print_with_secret(made, f"registered {made.id}", as_json)


def update(
    registration_id: RegistrationId, url: Url, event: Events = None, as_json: JsonOption = False
) -> None:
    """Replace a registration's URL and events; re-enables a disabled one.

    The secret stays. After re-enabling, `ztd webhooks replay ID --failed-since TIME` sends
    again what failed or was cancelled.
    """
    events = _events(event, "update ID URL")
    with calling(), open_client() as partner:
        changed = partner.webhooks.registrations.by_id(registration_id).update(url, events)
    if as_json:
        echo_json(changed.to_wire())
        return
    stdout().print(f"updated {escape(_summary(changed))}", highlight=False)


def delete(registration_id: RegistrationId) -> None:
    """Delete a registration; its pending deliveries are cancelled."""
    with calling(), open_client() as partner:
        partner.webhooks.registrations.by_id(registration_id).delete()
    stdout().print(
        f"deleted registration {escape(registration_id)} (its pending deliveries cancelled)",
        highlight=False,
    )


def send_test(
    registration_id: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="The registration; without it, every active one."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send a webhook.test event to one registration, or to every active one."""
    with calling(), open_client() as partner, refused_while_disabled(registration_id, AGAIN):
        registrations = partner.webhooks.registrations
        if registration_id is not None:
            sent = [registrations.by_id(registration_id).send_test()]
        else:
            sent = registrations.send_test()
    if as_json:
        echo_json({"eventIds": sent})
        return
    lines = [f"sent {plural(len(sent), 'test event')}: {', '.join(sent)}"]
    lines += [f"follow it with: ztd webhooks deliveries --event {event}" for event in sent]
    stdout().print(escape("\n".join(lines)), highlight=False)


def rotate(
    registration_id: RegistrationId,
    overlap: Annotated[
        int,
        typer.Option(
            "--overlap",
            metavar="SECONDS",
            help="How long the old secret keeps signing beside the new one (0 to 604800).",
        ),
    ] = DEFAULT_OVERLAP_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """Make a new signing secret (shown once); the old one signs too for --overlap."""
    if not 0 <= overlap <= MAX_OVERLAP_SECONDS:
        fail(
            f"--overlap must be from 0 to {MAX_OVERLAP_SECONDS} seconds (7 days), got {overlap}",
            EXIT_INVALID_INPUT,
        )
    with calling(), open_client() as partner:
        rotated = partner.webhooks.registrations.by_id(registration_id).rotate_secret(
            overlap_seconds=overlap
        )
    until = rotated.previous_secret_expires_time
    what = f"rotated the secret of {rotated.id}"
    if until is not None:
        what += f"; the old one also signs until {shown_time(until)}"
    _print_with_secret(rotated, what, as_json)


def replay(
    registration_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]", help="The registration whose failed deliveries to send again."
        ),
    ] = None,
    failed_since: Annotated[
        str | None,
        typer.Option(
            "--failed-since",
            metavar="TIME",
            help="With ID: the events since TIME, an ISO 8601 time with its zone "
            f"(2026-11-30T00:00:00Z) or an age ({durations.AGE_EXAMPLES}; at most "
            f"{durations.MAX_AGE_DAYS}d).",
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            metavar="EVENT-ID",
            help="Instead of ID: one event, to each of its registrations that is active.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send failed deliveries again: a registration's, or with --event one event.

    With ID: its deliveries of the events since --failed-since that failed, or that were
    cancelled when it was disabled. A disabled registration is refused until `ztd webhooks
    update ID URL --event TYPE` re-enables it.

    With --event: the event, to each of its registrations that is active; the disabled
    ones are listed as skipped, with how to re-enable them.
    """
    if (registration_id is None) == (event is None):
        fail(
            "give an ID with --failed-since TIME, or --event EVENT-ID (exactly one): "
            "`ztd webhooks replay ID --failed-since 24h` or `ztd webhooks replay --event ID`",
            EXIT_INVALID_INPUT,
        )
    since: datetime | None = None
    if registration_id is not None:
        if failed_since is None:
            fail(
                "--failed-since TIME is required with an ID: which failed events to replay, "
                "e.g. --failed-since 24h or --failed-since 2026-11-30T00:00:00Z",
                EXIT_INVALID_INPUT,
            )
        since = parse_since(failed_since, datetime.now(UTC))
    elif failed_since is not None:
        fail(
            "--failed-since goes with an ID, not with --event (an event is replayed whole)",
            EXIT_INVALID_INPUT,
        )
    skipped: list[WebhookReplaySkipped] = []
    with calling(), open_client() as partner, refused_while_disabled(registration_id, AGAIN):
        if event is not None:
            answer = partner.webhooks.events.by_id(event).replay_details()
            queued, skipped = answer.queued, answer.skipped
        else:
            assert registration_id is not None and since is not None
            queued = partner.webhooks.registrations.by_id(registration_id).replay(
                failed_since=since
            )
    if as_json:
        echo_json({"queued": queued, "skipped": [s.model_dump(by_alias=True) for s in skipped]})
        return
    stdout().print(f"queued {plural(queued, 'delivery', 'deliveries')} again", highlight=False)
    for left_out in skipped:  # disabled registrations: the event did not go to them
        # Not this replay again: it would send the event twice to the registrations it went to.
        then = f"`ztd webhooks replay {left_out.registration_id} --failed-since TIME`"
        stderr().print(
            escape(
                f"skipped {left_out.registration_id}: {left_out.reason} "
                + reenable_hint(left_out.registration_id, then)
            ),
            highlight=False,
        )


AGAIN = "this command again"


def reenable_hint(registration_id: str | None, then: str) -> str:
    """How to re-enable a disabled registration from the command line, then do ``then``:
    the service's refusal says it in HTTP terms (PUT ...), the CLI's user needs the
    command. ``None``: the refusal may name several, each to re-enable."""
    which = registration_id or "ID"
    each = "it" if registration_id else "each"
    return (
        f"From here: `ztd webhooks update {which} URL --event TYPE` (its URL and events, as "
        f"`ztd webhooks list` shows them) re-enables {each}, then {then}"
    )


@contextmanager
def refused_while_disabled(registration_id: str | None, then: str) -> Iterator[None]:
    """The one rendering of a refusal because a registration is disabled (a 409 from a
    replay or a test event, whose only conflict it is): the service's message (since
    when, why), then how to re-enable it from here (`reenable_hint`); exit code 1."""
    try:
        yield
    except ConflictError as exc:
        fail(f"{exc.message} {reenable_hint(registration_id, then)}", EXIT_CALL_FAILED)


def parse_since(text: str, now: datetime) -> datetime:
    """--failed-since: an ISO 8601 time with its zone, not after ``now``, or an age
    (``24h``, bounded in ``durations``) before ``now``. Anything else exits with code 3,
    saying what is expected."""
    option = "--failed-since"
    back = durations.age(option, text)
    if back is not None:
        return now - back
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(
            f"{option} {text!r} is neither an ISO 8601 time (2026-11-30T00:00:00Z) "
            f"nor an age ({durations.AGE_EXAMPLES})",
            EXIT_INVALID_INPUT,
        )
    if moment.utcoffset() is None:
        fail(
            f"{option} {text!r} has no time zone: add Z (UTC) or an offset such as +01:00",
            EXIT_INVALID_INPUT,
        )
    return durations.past_time(option, text, moment, now)


def _events(given: list[str] | None, usage: str) -> list[str]:
    if not given:
        fail(
            f"give at least one --event TYPE: `ztd webhooks {usage} --event "
            "devicebatch.job.completed` (repeatable)",
            EXIT_INVALID_INPUT,
        )
    return given


def _print_with_secret(registration: WebhookRegistration, what: str, as_json: bool) -> None:
    """A registration just made or rotated, with its secret, and the warning that the
    secret is not shown again (on stderr, so that --json stays one document)."""
    if as_json:
        echo_json(registration.to_wire())
    else:
        stdout().print(
            escape(f"{what}\n{_summary(registration)}\nsecret: {registration.secret}"),
            highlight=False,
        )
    stderr().print(
        "[yellow]warning:[/] keep the secret now: it is not shown again "
        f"(`ztd webhooks rotate {escape(registration.id)}` makes a new one)",
        highlight=False,
    )


def _summary(registration: WebhookRegistration) -> str:
    url = registration.webhook_url or "(listen channel)"
    events = ", ".join(registration.webhook_events)
    return f"{registration.id}: {url} for {events} ({_status(registration)})"


def _status(registration: WebhookRegistration) -> str:
    if registration.status != "disabled":
        return registration.status
    status = "disabled"
    if registration.disabled_time is not None:
        status += f" since {shown_time(registration.disabled_time)}"
    if registration.disabled_reason:
        status += f": {registration.disabled_reason}"
    return status
