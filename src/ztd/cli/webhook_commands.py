"""`ztd webhooks deliveries`: the webhook delivery log (issue 17), a registration's or one
event's deliveries, newest first, each with its attempts (time, HTTP status or error,
latency, response excerpt), read a page at a time through the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ztd.cli import webhook_registration_commands
from ztd.cli._common import (
    CONFIG_HELP,
    JsonOption,
    calling,
    echo_json,
    open_client,
    stdout,
    subgroup,
    wire_list,
)
from ztd.cli.output import (
    EXIT_CODES,
    EXIT_INVALID_INPUT,
    add_columns,
    fail,
    plural,
    print_table,
    shown_time,
)
from ztd.client.operations import WebhookDeliveryCollectionOperations
from ztd.wire import ResourceCollection, WebhookAttempt, WebhookDelivery

DEFAULT_LIMIT = 20
MAX_PAGE = 100  # the service's largest page


def register(app: typer.Typer) -> None:
    """Add the webhook commands to the `ztd` app: the registrations' first (their module),
    then the delivery log."""
    webhook_registration_commands.register(app)
    webhooks = subgroup(app, "webhooks")
    webhooks.command("deliveries", epilog=f"{CONFIG_HELP} {EXIT_CODES}")(deliveries)


def deliveries(
    registration_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[REGISTRATION-ID]",
            help="The registration's id (see `ztd webhooks list`).",
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option("--event", metavar="EVENT-ID", help="One event's deliveries instead."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, metavar="N", help="Show at most N deliveries."),
    ] = DEFAULT_LIMIT,
    as_json: JsonOption = False,
) -> None:
    """Show the webhook delivery log, newest first, with every attempt.

    A registration's deliveries (each event sent to it), or with --event one event's (each
    registration it went to); the rest of the log is read a page at a time as needed.
    """
    if (registration_id is None) == (event is None):
        fail(
            "give a REGISTRATION-ID or --event EVENT-ID (exactly one): "
            "`ztd webhooks deliveries REGISTRATION-ID` or `ztd webhooks deliveries --event ID`",
            EXIT_INVALID_INPUT,
        )
    with calling(), open_client() as partner:
        log: WebhookDeliveryCollectionOperations
        if event is not None:
            log = partner.webhooks.events.by_id(event).deliveries
        else:
            assert registration_id is not None
            log = partner.webhooks.registrations.by_id(registration_id).deliveries
        pages = log.pages(page_size=min(limit, MAX_PAGE))
        first = next(pages)
        total = first.total_count
        shown = list(islice(_items(first, pages), limit))
    if as_json:
        echo_json(wire_list(shown))
        return
    whose = f"event {event}" if event is not None else f"registration {registration_id}"
    title = f"{plural(total, 'delivery', 'deliveries')} of {whose}"
    if len(shown) < total:
        title += f" (the newest {len(shown)}; --limit shows more)"
    table = Table(title=escape(title))
    which = "event" if event is None else "registration"
    columns = ("created", "type", which, "status", "attempts")  # each: time, answer, latency
    add_columns(table, columns, whole=("created", which))
    for d in shown:
        table.add_row(
            shown_time(d.created_time) if d.created_time else "-",
            escape(d.type or "-"),
            escape(d.event_id if event is None else d.registration_id),
            escape(_state(d)),
            escape("\n".join(_attempt(a) for a in d.attempt_log) or "not attempted yet"),
        )
    print_table(stdout(), table)


def _items(
    first: ResourceCollection[WebhookDelivery],
    rest: Iterator[ResourceCollection[WebhookDelivery]],
) -> Iterator[WebhookDelivery]:
    """The deliveries of the first page, then of the pages after it, read only as needed."""
    yield from first.items
    for page in rest:
        yield from page.items


def _state(delivery: WebhookDelivery) -> str:
    if delivery.next_attempt_time is not None:
        return f"{delivery.status}, next attempt {shown_time(delivery.next_attempt_time)}"
    if delivery.delivered_time is not None:
        return f"{delivery.status} {shown_time(delivery.delivered_time)}"
    return delivery.status


def _attempt(attempt: WebhookAttempt) -> str:
    answer = str(attempt.status_code) if attempt.status_code is not None else "no answer"
    line = (
        f"#{attempt.attempt} {shown_time(attempt.attempted_time)} {answer} {attempt.latency_ms} ms"
    )
    if attempt.error:
        line += f" ({attempt.error})"
    elif attempt.response_excerpt:
        line += f" {attempt.response_excerpt[:60]!r}"
    return line
