"""`ztd emulator ...`: the control plane (/_ztd/v1/) from the command line.

Configured by ``--url``/``ZTD_URL`` and ``--token``/``ZTD_OPERATOR_TOKEN`` (an operator token:
``ztd admin token --operator``). Answers are printed as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from ztd.testing.control import ControlClient, ControlError

DEFAULT_URL = "http://127.0.0.1:8000"

Url = Annotated[str, typer.Option("--url", envvar="ZTD_URL", help="ztd's base URL.")]
Token = Annotated[
    str,
    typer.Option("--token", envvar="ZTD_OPERATOR_TOKEN", help="`ztd admin token --operator`."),
]
Customer = Annotated[str | None, typer.Option("--customer", help="Only this customer.")]
Partner = Annotated[str | None, typer.Option("--partner", help="Only this partner.")]


def register(app: typer.Typer) -> None:
    emulator = typer.Typer(
        help="Drive the emulator: outcome rules, HTTP faults, reset, snapshots, the journal.",
        no_args_is_help=True,
    )
    rule = typer.Typer(help="Device outcome rules.", no_args_is_help=True)
    fault = typer.Typer(help="HTTP faults.", no_args_is_help=True)
    app.add_typer(emulator, name="emulator")
    emulator.add_typer(rule, name="rule")
    emulator.add_typer(fault, name="fault")

    @rule.command("add")
    def rule_add(
        token: Token,
        serial: Annotated[
            str | None, typer.Option(help="Serial number glob, e.g. 'LAB-*'.")
        ] = None,
        product_key: Annotated[str | None, typer.Option(help="Product key (PKID).")] = None,
        manufacturer: Annotated[str | None, typer.Option()] = None,
        model: Annotated[str | None, typer.Option()] = None,
        hardware_hash: Annotated[
            str | None, typer.Option(help="The machine this hash identifies.")
        ] = None,
        error: Annotated[
            str | None, typer.Option(help="A DDS code or name: 808, StorageError.")
        ] = None,
        stay_polls: Annotated[int | None, typer.Option(help="Stay processing N polls.")] = None,
        stay_seconds: Annotated[float | None, typer.Option(help="... or S seconds.")] = None,
        fail_chunk_times: Annotated[
            int | None, typer.Option(help="Fail the chunk N times.")
        ] = None,
        times: Annotated[int | None, typer.Option(help="Expire after N devices.")] = None,
        customer: Customer = None,
        partner: Partner = None,
        url: Url = DEFAULT_URL,
    ) -> None:
        """Force an outcome for matching devices; prints the rule's id."""
        match = {
            "serialNumber": serial,
            "productKey": product_key,
            "manufacturer": manufacturer,
            "model": model,
            "hardwareHash": hardware_hash,
        }
        stay = {"polls": stay_polls, "seconds": stay_seconds}
        outcome = {
            "errorCode": error,
            "failChunkTimes": fail_chunk_times,
            "stayProcessing": _given(stay) or None,
        }
        scope = {"customerId": customer, "partnerId": partner, "times": times}
        _run(
            url,
            token,
            lambda c: {"id": c.add_rule(_given(match), _given(outcome), **_given(scope))},
        )

    @emulator.command("rules")
    def rules(
        token: Token, customer: Customer = None, partner: Partner = None, url: Url = DEFAULT_URL
    ) -> None:
        """List the rules."""
        _run(url, token, lambda c: c.rules(customerId=customer, partnerId=partner))

    @rule.command("clear")
    def rule_clear(
        token: Token,
        rule_id: Annotated[
            str | None, typer.Argument(help="One rule; all (in scope) without.")
        ] = None,
        customer: Customer = None,
        partner: Partner = None,
        url: Url = DEFAULT_URL,
    ) -> None:
        """Delete one rule, or all of them (of a customer or partner)."""
        if rule_id is not None:
            _run(url, token, lambda c: c.call("DELETE", f"/rules/{rule_id}"))
        else:
            _run(
                url,
                token,
                lambda c: {"deleted": c.clear_rules(customerId=customer, partnerId=partner)},
            )

    @fault.command("add")
    def fault_add(
        token: Token,
        status: Annotated[int | None, typer.Option(help="429, 500, 502, 503 or 504.")] = None,
        path: Annotated[
            str | None, typer.Option(help="Path glob, e.g. '*/batchJobStatus/*'.")
        ] = None,
        method: Annotated[str | None, typer.Option()] = None,
        operation: Annotated[
            str | None, typer.Option(help="An OpenAPI operationId, e.g. BatchUploadStatus_Get.")
        ] = None,
        retry_after: Annotated[int | None, typer.Option(help="Retry-After seconds.")] = None,
        latency_ms: Annotated[int | None, typer.Option()] = None,
        count: Annotated[int | None, typer.Option(help="The next K matching calls.")] = None,
        nth: Annotated[int | None, typer.Option(help="Only the Nth matching call.")] = None,
        probability: Annotated[float | None, typer.Option()] = None,
        customer: Customer = None,
        partner: Partner = None,
        url: Url = DEFAULT_URL,
    ) -> None:
        """Answer matching calls with a status and/or latency; prints the fault's id."""
        spec = {
            "status": status,
            "path": path,
            "method": method,
            "operationId": operation,
            "retryAfter": retry_after,
            "latencyMs": latency_ms,
            "count": count,
            "nth": nth,
            "probability": probability,
            "customerId": customer,
            "partnerId": partner,
        }
        _run(url, token, lambda c: {"id": c.add_fault(**_given(spec))})

    @emulator.command("faults")
    def faults(
        token: Token, customer: Customer = None, partner: Partner = None, url: Url = DEFAULT_URL
    ) -> None:
        """List the faults."""
        _run(url, token, lambda c: c.faults(customerId=customer, partnerId=partner))

    @fault.command("clear")
    def fault_clear(
        token: Token,
        fault_id: Annotated[
            str | None, typer.Argument(help="One fault; all (in scope) without.")
        ] = None,
        customer: Customer = None,
        partner: Partner = None,
        url: Url = DEFAULT_URL,
    ) -> None:
        """Delete one fault, or all of them (of a customer or partner)."""
        if fault_id is not None:
            _run(url, token, lambda c: c.call("DELETE", f"/faults/{fault_id}"))
        else:
            _run(
                url,
                token,
                lambda c: {"deleted": c.clear_faults(customerId=customer, partnerId=partner)},
            )

    @emulator.command("reset")
    def reset(
        token: Token,
        customer: Customer = None,
        partner: Partner = None,
        keep_tenants: Annotated[bool, typer.Option(help="Keep partners, customers, apps.")] = False,
        url: Url = DEFAULT_URL,
    ) -> None:
        """Delete everything, or a partner's or a customer's data."""
        scope = {"customerId": customer, "partnerId": partner, "keepTenants": keep_tenants}
        _run(url, token, lambda c: c.reset(**_given(scope)))

    @emulator.command("snapshot")
    def snapshot(token: Token, url: Url = DEFAULT_URL) -> None:
        """Print the whole world as JSON (for `ztd emulator restore`)."""
        _run(url, token, lambda c: c.snapshot())

    @emulator.command("restore")
    def restore(
        token: Token,
        file: Annotated[Path, typer.Argument(help="A snapshot; '-' reads standard input.")],
        url: Url = DEFAULT_URL,
    ) -> None:
        """Replace the whole world with a snapshot."""
        try:
            text = sys.stdin.read() if str(file) == "-" else file.read_text()
            world = json.loads(text)
        except (OSError, ValueError) as exc:
            _fail(f"cannot read the snapshot {file}: {exc}")
        _run(url, token, lambda c: c.restore(world))

    @emulator.command("requests")
    def requests(
        token: Token,
        correlation_id: Annotated[str | None, typer.Option()] = None,
        request_id: Annotated[str | None, typer.Option()] = None,
        customer: Customer = None,
        partner: Partner = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
        url: Url = DEFAULT_URL,
    ) -> None:
        """The request journal (kept while the server runs with ZTD_JOURNAL=true)."""
        _run(
            url,
            token,
            lambda c: c.requests(
                correlationId=correlation_id,
                requestId=request_id,
                customerId=customer,
                partnerId=partner,
                limit=limit,
            ),
        )


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _run(url: str, token: str, action: Callable[[ControlClient], Any]) -> None:
    try:
        with ControlClient(url, token) as client:
            result = action(client)
    except ControlError as exc:
        _fail(str(exc))
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc} (is the server running? --url or ZTD_URL sets where)")
    typer.echo(json.dumps(result, indent=2))


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)
