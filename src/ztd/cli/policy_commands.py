"""`ztd policies list|create|update|delete` and `ztd devices assign-policy`: configuration
policies (E8-E12) and assigning them to devices (E6), over the SDK like the other partner
commands, with the same configuration, output and exit codes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ztd.cli._common import (
    CONFIG_HELP,
    CustomerOption,
    JsonOption,
    PerRequestOption,
    TimeoutOption,
    calling,
    echo_json,
    finish,
    open_client,
    print_started,
    results_json,
    stderr,
    stdout,
    subgroup,
    wait_for,
    wire_list,
)
from ztd.cli.batch_jobs import PER_REQUEST, in_parts, jobs_json, print_report, start_all
from ztd.cli.output import EXIT_INVALID_INPUT, add_columns, fail, plural, print_table, shown_time
from ztd.client import SETTING_NAMES, to_setting
from ztd.wire import ConfigurationPolicy, PolicySettingsType

__all__ = ["POLICY_EXIT_CODES", "register"]

POLICY_EXIT_CODES = (
    "Exit codes: 0 all fine; 1 the call failed (connection, token, not found, refused); "
    "3 invalid arguments (nothing was sent)."
)
ASSIGN_EXIT_CODES = (
    "Exit codes: 0 all fine; 1 the call failed (connection, token, not found, refused); "
    "2 at least one device failed; 3 invalid arguments (nothing was sent); "
    "4 still unfinished when --timeout expired."
)


def register(app: typer.Typer) -> None:
    """Add `ztd policies ...` to the app and `assign-policy` to `ztd devices`."""
    policies = subgroup(app, "policies")
    epilog = f"{CONFIG_HELP} {POLICY_EXIT_CODES}"
    policies.command("list", epilog=epilog)(policies_list)
    policies.command("create", epilog=epilog)(policies_create)
    policies.command("update", epilog=epilog)(policies_update)
    policies.command("delete", epilog=epilog)(policies_delete)
    devices = subgroup(app, "devices")
    devices.command("assign-policy", epilog=f"{CONFIG_HELP} {ASSIGN_EXIT_CODES}")(assign_policy)


# -- arguments -------------------------------------------------------------------------------


def _settings(values: list[str] | None) -> list[PolicySettingsType]:
    settings: list[PolicySettingsType] = []
    for value in values or []:
        try:
            setting = to_setting(value)
        except ValueError as exc:
            fail(f"--setting: {exc}", EXIT_INVALID_INPUT)
        if setting is PolicySettingsType.NONE:
            fail(
                f"--setting: {value!r} is not a setting; allowed: {', '.join(SETTING_NAMES)}",
                EXIT_INVALID_INPUT,
            )
        if setting not in settings:
            settings.append(setting)
    return settings


def _name(value: str) -> str:
    if not value.strip():
        fail("--name must not be empty", EXIT_INVALID_INPUT)
    return value.strip()


def _description(value: str | None) -> str | None:
    # An empty --description removes it.
    return value if value else None


# -- output ----------------------------------------------------------------------------------


def _settings_text(policy: ConfigurationPolicy) -> str:
    return ", ".join(s.value for s in policy.policy_settings) or "-"


def _print_policy(policy: ConfigurationPolicy, what: str) -> None:
    console = stdout()
    console.print(
        f"{what} policy [bold]{escape(policy.name or '?')}[/] (id {escape(policy.id or '?')})",
        highlight=False,
    )
    rows = (
        ("category", policy.category.value),
        ("description", policy.description or "-"),
        ("settings", _settings_text(policy)),
        ("devices assigned", str(policy.devices_assigned_count or 0)),
    )
    for label, value in rows:
        console.print(f"  {label}: {escape(value)}", highlight=False)


# -- commands --------------------------------------------------------------------------------

SettingOption = Annotated[
    list[str] | None,
    typer.Option(
        "--setting",
        help=f"A policy setting; repeat for several. One of: {', '.join(SETTING_NAMES)}.",
        show_default=False,
    ),
]
PolicyArgument = Annotated[str, typer.Argument(help="The policy id.")]


def policies_list(customer: CustomerOption, as_json: JsonOption = False) -> None:
    """List the customer's configuration policies, with how many devices use each."""
    with calling(), open_client() as partner:
        collection = partner.customers.by_id(customer).configuration_policies.get()
    if as_json:
        echo_json(wire_list(list(collection.items)))
        return
    title = plural(collection.total_count, "configuration policy", "configuration policies")
    table = Table(title=title)
    add_columns(table, ("id", "name", "settings", "devices", "modified"), whole=("id", "modified"))
    for p in collection.items:
        modified = shown_time(p.last_modified_date)
        table.add_row(
            escape(p.id or "-"),
            escape(p.name or "-"),
            escape(_settings_text(p)),
            str(p.devices_assigned_count or 0),
            modified,
        )
    print_table(stdout(), table)


def policies_create(
    customer: CustomerOption,
    name: Annotated[str, typer.Option("--name", help="The policy's name.")],
    description: Annotated[
        str | None, typer.Option("--description", help="What the policy is for.")
    ] = None,
    setting: SettingOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a configuration policy (its category is o_o_b_e) and print it with its id."""
    settings = _settings(setting)
    with calling(), open_client() as partner:
        policy = partner.customers.by_id(customer).configuration_policies.create(
            name=_name(name), description=_description(description), policy_settings=settings
        )
    if as_json:
        echo_json(policy.to_wire())
    else:
        _print_policy(policy, "created")


def policies_update(
    policy_id: PolicyArgument,
    customer: CustomerOption,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help='A new description ("" removes it).'),
    ] = None,
    setting: SettingOption = None,
    clear_settings: Annotated[
        bool,
        typer.Option(
            "--clear-settings", help="Remove every setting (then add the --setting ones)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Change a policy: reads it, changes what the options give, and writes it back.

    Unspecified fields are kept. Settings are replaced as a whole when any --setting or
    --clear-settings is given.
    """
    if name is None and description is None and not setting and not clear_settings:
        fail(
            "nothing to change: give --name, --description, --setting or --clear-settings",
            EXIT_INVALID_INPUT,
        )
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _name(name)
    if description is not None:
        changes["description"] = _description(description)
    if setting or clear_settings:
        changes["policy_settings"] = _settings(setting)
    with calling(), open_client() as partner:
        operations = partner.customers.by_id(customer).configuration_policies.by_id(policy_id)
        current = operations.get()
        updated = operations.patch(current.model_copy(update=changes))
    if as_json:
        echo_json(updated.to_wire())
    else:
        _print_policy(updated, "updated")


def policies_delete(
    policy_id: PolicyArgument, customer: CustomerOption, as_json: JsonOption = False
) -> None:
    """Delete a policy. The devices that used it are left without a policy."""
    with calling(), open_client() as partner:
        partner.customers.by_id(customer).configuration_policies.by_id(policy_id).delete()
    if as_json:
        echo_json({"id": policy_id, "deleted": True})
    else:
        stdout().print(
            f"deleted policy {escape(policy_id)}; devices that used it now have no policy",
            highlight=False,
        )


def assign_policy(
    customer: CustomerOption,
    device_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Device ids (from `ztd devices list`).", metavar="DEVICE_ID...", show_default=False
        ),
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="The configuration policy's id.")
    ] = None,
    unassign: Annotated[
        bool, typer.Option("--unassign", help="Remove the devices' policy instead.")
    ] = False,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Also every device of this batch.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for every device's outcome.")] = False,
    as_json: JsonOption = False,
    timeout: TimeoutOption = None,
    per_request: PerRequestOption = PER_REQUEST,
) -> None:
    """Assign a configuration policy to devices (the given ids and/or a whole batch).

    A batch job, like an upload: with --wait, shows progress and ends with a summary per
    error (807 not this customer's device, 809 no such policy, 810 another customer's
    policy) and what to do about it.
    """
    if (policy is None) == (not unassign):
        fail("give --policy ID, or --unassign", EXIT_INVALID_INPUT)
    if policy is not None and not policy.strip():
        fail("--policy must not be empty", EXIT_INVALID_INPUT)
    if not device_ids and batch is None:
        fail("no devices: give device ids, or --batch NAME", EXIT_INVALID_INPUT)
    policy_id = policy.strip() if policy is not None else None
    with calling(), open_client() as partner:
        customer_ops = partner.customers.by_id(customer)
        ids = list(device_ids or [])
        if batch is not None:
            ids += [d.id for d in customer_ops.device_batches.by_id(batch).devices.list() if d.id]
        ids = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        if not ids:
            fail(f"no devices: batch {batch!r} has none", EXIT_INVALID_INPUT)
        jobs = start_all(
            in_parts(ids, per_request),
            lambda _n, part: customer_ops.device_policy.update(
                devices=[(i, policy_id) for i in part]
            ),
            stderr(),
            customer,
        )
        out: dict[str, Any] = {
            "policyId": policy_id,
            "trackingId": jobs[0].poller.tracking_id,
            "location": jobs[0].poller.location,
            "devices": len(ids),
            "jobs": jobs_json(jobs),
        }
        if batch is not None:
            out["batchId"] = batch
        if not wait:
            if as_json:
                echo_json(out)
            else:
                what = f"assigning policy {policy_id}" if policy_id else "unassigning the policy"
                print_started(f"{what} to {plural(len(ids), 'device')}", customer, jobs)
            return
        results = wait_for(jobs, timeout, as_json, out, customer)
    if as_json:
        echo_json({**out, **results_json(results)})
    else:
        print_report(stdout(), results)
    finish(results)
