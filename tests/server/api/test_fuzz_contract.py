"""Schema-driven fuzzing: schemathesis sends generated requests (valid and invalid) to every
operation of a real server, with a valid token, and holds each answer to the OpenAPI
document: no 5xx, documented status codes, content types, schemas and headers, and every
error in Partner Center's shape. Then stateful runs follow the document's links (create a
batch -> its status -> its devices -> delete one).

ZTD_FUZZ_EXAMPLES sets the examples per operation (`make fuzz` runs many more)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import delete

from ztd.identity import synthesize_device
from ztd.server.app import create_app
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker, WorkerThread
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.server.storage.schema import webhook_attempts, webhook_deliveries, webhook_subscriptions

CREATE = "/v1/customers/{customer_id}/deviceBatches"
# Small example counts keep hypothesis' generated data small and fast; more cases come from
# more rounds, each with its own seed (deterministic, so CI runs the same cases each time).
EXAMPLES = int(os.environ.get("ZTD_FUZZ_EXAMPLES", "10"))
ROUNDS = int(os.environ.get("ZTD_FUZZ_ROUNDS", "2"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
CASES: list[str] = []
TIMES: list[float] = []


class Target:
    def __init__(self, app: Any, customer: str, token: str, db: Database) -> None:
        self.app = app
        self.customer = customer
        self.db = db
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'ztd.sqlite3'}",
        poll_interval_seconds=0.05,
        max_devices_per_request=50,
        # The fuzz is of the Partner Center API a partner token reaches; the operator-only
        # control plane would only answer it 404 (tests/server/emulator/test_emulator.py covers it).
        control_plane=False,
    )
    db = Database(settings_.resolved_database_url)
    migrate.upgrade(db)
    now = utc_now()
    with db.write() as conn:
        partner = tenancy.add_partner(conn, "Fuzz Partner", now)
        customer = tenancy.add_customer(conn, "Fuzz Customer", partner, now)
    token = issue_token(
        KeyStore(settings_.data_dir / "keys"),
        issuer=settings_.issuer,
        audience=settings_.audience,
        partner_id=partner,
        roles=(Role.ADMIN_AGENT,),
    )
    app = create_app(settings_, db=db, embedded_worker=False)
    worker = WorkerThread(Worker(db, settings_))  # jobs finish, so links reach their status
    worker.start()
    try:
        yield Target(app, customer, token, db)
    finally:
        worker.shutdown()
        db.dispose()


@pytest.fixture(scope="module")
def api_schema(target: Target) -> Any:
    # In-process: what is fuzzed is the API; malformed HTTP is the server's parser's business.
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        allow_x00=True,
    )
    return schema


# One stateful run per family of linked operations: over a wider set of operations the
# scenarios may spend every step elsewhere (customers, policies) and never start a chain.
@pytest.mark.parametrize(
    ("area", "reached_step"),
    [
        (r"/v1/customers/\{customer_id\}/(deviceBatches|batchJobStatus)", ("POST " + CREATE, 202)),
        ("/webhooks/", ("POST /webhooks/v1/registration", 201)),
    ],
    ids=["device batches", "webhook registrations"],
)
def test_the_contract_holds_over_linked_calls(
    api_schema: Any, target: Target, area: str, reached_step: tuple[str, int]
) -> None:
    steps: list[tuple[str, int]] = []
    linked_schema = api_schema.include(path_regex=f"^{area}")

    class Linked(linked_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            # Scenarios act for the seeded customer, and a batch creation carries a real
            # device (generated bodies almost never hold a valid identity), so the chain
            # goes on: create -> status -> devices -> delete.
            if "customer_id" in (case.path_parameters or {}):
                case.path_parameters = {**case.path_parameters, "customer_id": target.customer}
            if case.operation.label == f"POST {CREATE}" and isinstance(case.body, dict):
                device = synthesize_device(len(steps) + 1000)
                case.body = {
                    "batchId": f"fuzz {len(steps)}",
                    "devices": [{"hardwareHash": device.hardware_hash}],
                }
            # Likewise a registration: a generated webhookUrl would have to resolve (no
            # DNS here), so it names a loopback endpoint (allowed on SQLite) that nothing
            # answers; not a listen channel, whose long polls would take the run's time.
            if case.operation.label == "POST /webhooks/v1/registration" and isinstance(
                case.body, dict
            ):
                case.body = {
                    "webhookUrl": "http://127.0.0.1:9/hook",
                    "webhookEvents": ["devicebatch.job.completed"],
                }

        def teardown(self) -> None:
            # Each scenario starts without registrations: answers that depend on how many
            # the partner holds (PUT .../registration, the limits) must not depend on the
            # scenarios before, or hypothesis cannot replay one (FlakyStrategyDefinition).
            with target.db.write() as conn:
                for table in (webhook_attempts, webhook_deliveries, webhook_subscriptions):
                    conn.execute(delete(table))

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": target.headers}

        def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
            steps.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS)

    Linked.run(
        settings=settings(
            max_examples=max(5, EXAMPLES // 3),
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    CASES.extend(label for label, _status in steps)
    reached = {(label, status) for label, status in steps}
    # Scenarios got past creation (a real job, a registration) and on to the linked calls.
    # (Which linked step hypothesis picks next varies with the worker's timing, so no
    # particular one is required.)
    assert reached_step in reached, sorted(reached)
    assert any(label != reached_step[0] for label, _s in reached), sorted(reached)
    if area.startswith("/v1/"):
        assert any(label.endswith("/batchJobStatus/{tracking_id}") for label, _s in reached)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)


def test_every_operation_positive_and_negative(api_schema: Any, target: Target) -> None:
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for customer in (target.customer, None):
                # With the seeded customer the cases reach past the tenancy check; without
                # it they probe the customer id itself.
                path = (
                    {"customer_id": customer}
                    if customer and "{customer_id}" in (operation.path)
                    else None
                )
                if customer and path is None:
                    continue
                strategy = operation.as_strategy(mode, path_parameters=path)
                for round_ in range(ROUNDS):
                    try:
                        _fuzz(strategy, target, round_)
                    except Unsatisfiable:
                        # An operation with nothing to get wrong (no parameters, no body)
                        # has no negative cases.
                        assert mode is GenerationMode.NEGATIVE, operation.label


def _fuzz(strategy: Any, target: Target, round_: int) -> None:
    @seed(round_)
    @given(case=strategy)
    @FUZZ_SETTINGS
    def run(case: Case) -> None:
        headers = dict(target.headers)
        if case.headers and any(k.lower() == "authorization" for k in case.headers):
            headers = {}
        started = time.perf_counter()
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        TIMES.append(time.perf_counter() - started)
        CASES.append(case.operation.label)
        if response.status_code >= 400 and case.operation.path != "/oauth2/token":
            body = response.json()
            assert set(body) == {"code", "description", "data", "source"}, body

    run()


def test_fuzzing_ran_enough_cases(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: the figure, printed, and the floor CI must reach."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"\nschemathesis: {len(CASES)} generated cases over "
            f"{len(set(CASES))} operations, 0 server errors, 0 conformance failures "
            f"({sum(TIMES):.1f} s in requests)"
        )
    if EXAMPLES * ROUNDS >= 20:  # the CI default or more
        assert len(CASES) >= 1000
