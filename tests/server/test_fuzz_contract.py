"""Schema-driven fuzzing: schemathesis sends generated requests (valid and invalid) to every
operation of a real server, with a valid token, and holds each answer to the OpenAPI
document: no 5xx, documented status codes, content types, schemas and headers, and every
error in Partner Center's shape. Then stateful runs follow the document's links (create a
batch -> its status -> its devices -> delete one).

ZTD_FUZZ_EXAMPLES sets the examples per operation (`make fuzz` runs many more)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.live_server import live_server
from ztd.server.app import create_app
from ztd.server.auth.keys import KeyStore
from ztd.server.auth.tokens import Role, issue_token
from ztd.server.clock import utc_now
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage import migrate
from ztd.server.storage.database import Database

EXAMPLES = int(os.environ.get("ZTD_FUZZ_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
CASES: list[str] = []


class Target:
    def __init__(self, base_url: str, customer: str, token: str) -> None:
        self.base_url = base_url
        self.customer = customer
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'ztd.sqlite3'}",
        poll_interval_seconds=0.05,
        max_devices_per_request=50,
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
    app = create_app(settings_, db=db, embedded_worker=True)
    with live_server(app) as url:
        yield Target(url, customer, token)
    db.dispose()


@pytest.fixture(scope="module")
def api_schema(target: Target) -> Any:
    schema = schemathesis.openapi.from_url(f"{target.base_url}/openapi.json")
    schema.config.update(base_url=target.base_url)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        allow_x00=True,
    )
    return schema


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every CI run
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
                path = {"customer_id": customer} if customer and "{customer_id}" in (
                    operation.path
                ) else None
                if customer and path is None:
                    continue
                strategy = operation.as_strategy(mode, path_parameters=path)
                try:
                    _fuzz(strategy, target)
                except Unsatisfiable:
                    # An operation with nothing to get wrong (no parameters, no body) has no
                    # negative cases.
                    assert mode is GenerationMode.NEGATIVE, operation.label


def _fuzz(strategy: Any, target: Target) -> None:
    @given(case=strategy)
    @FUZZ_SETTINGS
    def run(case: Case) -> None:
        headers = dict(target.headers)
        if case.headers and any(k.lower() == "authorization" for k in case.headers):
            headers = {}
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        CASES.append(case.operation.label)
        if response.status_code >= 400 and case.operation.path != "/oauth2/token":
            body = response.json()
            assert set(body) == {"code", "description", "data", "source"}, body

    run()


def test_the_contract_holds_over_linked_calls(api_schema: Any, target: Target) -> None:
    machine = api_schema.as_state_machine()
    machine.run(
        settings=settings(
            max_examples=max(5, EXAMPLES // 3),
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_fuzzing_ran_enough_cases(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: the figure, printed, and the floor CI must reach."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"\nschemathesis: {len(CASES)} generated cases over "
            f"{len(set(CASES))} operations, 0 server errors, 0 conformance failures"
        )
    if EXAMPLES >= 30:
        assert len(CASES) >= 1000
