"""The operator pages over the real ASGI app (no browser): who sees them, the queue as the
job engine leaves it in the database, the journal, and the emulator forms calling the
control plane's own functions (checked back through /_ztd/v1/)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import update

from tests.support.api import create_batch, hash_device
from tests.support.console import csrf_of, sign_in, writing_forms
from tests.support.world import World, make_token
from ztd.server.app import create_app
from ztd.server.auth.tokens import OPERATOR_TENANT, Role
from ztd.server.clock import utc_now
from ztd.server.jobs import leases, owners
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import job_chunks

OPERATOR_PAGES = (
    "/console/operator",
    "/console/operator/queue",
    "/console/operator/queue/live",
    "/console/operator/requests",
    "/console/operator/emulator",
)
OPERATOR_POSTS = (
    "/console/operator/emulator/rules",
    "/console/operator/emulator/rules/clear",
    "/console/operator/emulator/faults",
    "/console/operator/emulator/faults/clear",
    "/console/operator/emulator/throttling",
    "/console/operator/requests/clear",
)


def operator_token(settings: Settings) -> str:
    return make_token(settings, OPERATOR_TENANT, roles=(Role.OPERATOR,))


def operator_auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {operator_token(settings)}"}


@pytest.fixture
def operator(client: TestClient, settings: Settings) -> TestClient:
    sign_in(client, operator_token(settings))
    return client


def test_an_operator_lands_on_the_overview_of_partners_and_customers(
    client: TestClient, world: World, settings: Settings
) -> None:
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(page.text), "token": operator_token(settings)},
    )
    assert answer.status_code == 200 and str(answer.url).endswith("/console/operator")
    for name in ("Fabrikam Partner", "Northwind Partner", "Contoso", "Litware", "Adatum"):
        assert name in answer.text
    assert writing_forms(answer.text) == []  # read-only, as in the API
    nav = re.search(r'<nav aria-label="Main".*?</nav>', answer.text, re.S)
    assert nav and "Queue" in nav.group(0) and "Emulator" in nav.group(0)
    assert "Customers</a>" not in nav.group(0)  # a partner's pages are not an operator's
    assert 'aria-current="page">Overview' in nav.group(0)


def test_partners_get_404_on_every_operator_url(
    client: TestClient, world: World, settings: Settings
) -> None:
    for token in (world.token, make_token(settings, world.partner, app_only=True)):
        client.cookies.clear()
        sign_in(client, token)
        csrf = csrf_of(client.get("/console/customers").text)
        for path in OPERATOR_PAGES:
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "<title>Not found" in answer.text  # the console's layout
            assert "Operator" not in answer.text
        for path in OPERATOR_POSTS:
            answer = client.post(path, data={"csrf": csrf, "serial_number": "*", "status": "500"})
            assert answer.status_code == 404, path
    op = operator_auth(settings)
    assert client.get("/_ztd/v1/rules", headers=op).json() == []
    assert client.get("/_ztd/v1/faults", headers=op).json() == []
    client.cookies.clear()
    unsigned = client.get("/console/operator/queue", follow_redirects=False)
    assert unsigned.status_code == 303 and "/console/sign-in" in unsigned.headers["location"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_queue_shows_chunks_leases_owners_age_and_retries(
    operator: TestClient, world: World, settings: Settings, db: Database
) -> None:
    empty = operator.get("/console/operator/queue")
    assert empty.status_code == 200
    assert 'id="no-jobs"' in empty.text and 'id="queued-chunks">0<' in empty.text
    assert "check that a worker runs" not in empty.text

    devices = [hash_device(seed) for seed in range(120)]  # chunk_size 50: three chunks
    job_id = create_batch(operator, world.customer, world.auth(), "queued", devices)
    now = utc_now()
    with db.write() as conn:
        # One chunk leased by a process that no longer exists on this host, one by a live
        # one on its second attempt, one left queued.
        # (another process id of this host; its start time differs even if the id exists)
        gone = str(owners.this_process("deadbeef")._replace(pid=999_999, started=1.0))
        leases.claim(conn, owner=gone, now=now, lease_seconds=30)
        alive = leases.claim(conn, owner="other-host/42/5.00/abc/w1", now=now, lease_seconds=30)
        assert alive is not None
        conn.execute(update(job_chunks).where(job_chunks.c.pk == alive.chunk_pk).values(attempts=2))
    page = operator.get("/console/operator/queue")
    assert page.status_code == 200
    assert 'id="queued-chunks">1<' in page.text and 'id="running-chunks">2<' in page.text
    jobs = re.search(r'<table id="jobs-table">.*?</table>', page.text, re.S)
    assert jobs and job_id in jobs.group(0) and "0 / 3" in jobs.group(0)  # chunks done
    holders = re.search(r'<table id="holders-table">.*?</table>', page.text, re.S)
    assert holders and "other-host" in holders.group(0) and "42" in holders.group(0)
    assert holders.group(0).count("process gone") == 1
    assert 'id="retried-count">1<' in page.text
    retried = re.search(r'<table id="retried-table">.*?</table>', page.text, re.S)
    assert retried and job_id in retried.group(0) and "w1" in retried.group(0)
    oldest = re.search(r'id="oldest-queued">([^<]+)<', page.text)
    assert oldest and oldest.group(1).endswith(" s")
    live = operator.get("/console/operator/queue/live")  # the htmx part: the section only
    assert live.status_code == 200 and live.text.lstrip().startswith('<section id="queue"')

    # The reaper requeues the gone owner's chunk at once (its lease has not run out).
    before = int(REGISTRY.get_sample_value("ztd_reaper_rescues_total") or 0)
    with db.write() as conn:
        leases.reap(conn, now=utc_now(), max_attempts=settings.max_attempts)
    page = operator.get("/console/operator/queue")
    assert 'id="queued-chunks">2<' in page.text and 'id="running-chunks">1<' in page.text
    assert "process gone" not in page.text
    rescued = re.search(r'id="rescued-here">[^:]*: ([\d,]+) chunk', page.text)
    assert rescued and int(rescued.group(1).replace(",", "")) == before + 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_add_and_clear_a_rule_and_a_fault_through_the_forms(
    operator: TestClient, world: World, settings: Settings
) -> None:
    op = operator_auth(settings)
    page = operator.get("/console/operator/emulator")
    assert (
        page.status_code == 200 and 'id="no-rules"' in page.text and 'id="no-faults"' in page.text
    )
    csrf = csrf_of(page.text)
    for _ in range(2):
        added = operator.post(
            "/console/operator/emulator/rules",
            data={"csrf": csrf, "serial_number": "LAB-*", "error_code": "808", "times": "3"},
        )
        assert added.status_code == 200 and "LAB-*" in added.text
    rules = operator.get("/_ztd/v1/rules", headers=op).json()
    assert len(rules) == 2
    assert rules[0]["match"] == {"serialNumber": "LAB-*"} and rules[0]["remaining"] == 3
    assert rules[0]["outcome"] == {"errorCode": "808"}
    removed = operator.post(
        "/console/operator/emulator/rules/clear", data={"csrf": csrf, "id": rules[0]["id"]}
    )
    assert removed.status_code == 200
    assert [r["id"] for r in operator.get("/_ztd/v1/rules", headers=op).json()] == [rules[1]["id"]]
    again = operator.post(  # removed already: nothing to do, no error
        "/console/operator/emulator/rules/clear", data={"csrf": csrf, "id": rules[0]["id"]}
    )
    assert again.status_code == 200

    fault = operator.post(
        "/console/operator/emulator/faults",
        data={
            "csrf": csrf,
            "method": "GET",
            "path": "*/batchJobStatus/*",
            "status": "503",
            "retry_after": "2",
            "count": "1",
        },
    )
    assert fault.status_code == 200
    faults = operator.get("/_ztd/v1/faults", headers=op).json()
    assert len(faults) == 1 and faults[0]["status"] == 503 and faults[0]["retryAfter"] == 2
    assert "*/batchJobStatus/*" in fault.text
    for kind in ("rules", "faults"):
        cleared = operator.post(f"/console/operator/emulator/{kind}/clear", data={"csrf": csrf})
        assert cleared.status_code == 200 and f'id="no-{kind}"' in cleared.text
        assert operator.get(f"/_ztd/v1/{kind}", headers=op).json() == []


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("kind", "sent", "problem"),
    [
        ("rules", {"error_code": "808"}, "Match: give at least one of serialNumber"),
        ("rules", {"serial_number": "X"}, "Outcome: give at least one of errorCode"),
        (
            "rules",
            {"serial_number": "X", "error_code": "808", "times": "0"},
            "Devices it decides: Input should be greater than or equal to 1",
        ),
        (
            "rules",
            {"serial_number": "X", "stay_polls": "2", "stay_seconds": "1"},
            "give exactly one of polls or seconds",
        ),
        ("faults", {"path": "/v1/*"}, "Give a status [429, 500, 502, 503, 504] or a latencyMs"),
        ("faults", {"status": "500", "count": "1", "nth": "2"}, "Give count or nth, not both"),
        (
            "faults",
            {"status": "500", "probability": "1.5"},
            "Probability: Input should be less than or equal to 1",
        ),
        (
            "faults",
            {"status": "500", "latency_ms": "soon"},
            "Latency: Input should be a valid integer",
        ),
        ("throttling", {"partner_requests": "5"}, "Partner: seconds: Field required"),
        (
            "throttling",
            {"customer_requests": "0", "customer_seconds": "1"},
            "Customer: requests: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_refused_form_says_which_field_and_keeps_what_was_typed(
    operator: TestClient, settings: Settings, kind: str, sent: dict[str, str], problem: str
) -> None:
    csrf = csrf_of(operator.get("/console/operator/emulator").text)
    answer = operator.post(f"/console/operator/emulator/{kind}", data={"csrf": csrf, **sent})
    assert answer.status_code == 400
    box = re.search(r'<div class="problem" role="alert".*?</div>', answer.text, re.S)
    assert box and problem in box.group(0).replace("&#34;", '"'), box and box.group(0)
    for value in sent.values():
        assert (
            f'value="{value}"' in answer.text
            or f"<option selected>{value}" in answer.text
            or (f'value="{value}" selected' in answer.text)
        )
    op = operator_auth(settings)
    endpoint = "throttling" if kind == "throttling" else kind
    stored = operator.get(f"/_ztd/v1/{endpoint}", headers=op).json()
    assert stored in (
        [],
        {"partner": None, "customer": None, "rateLimitHeaders": False, "buckets": []},
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_throttling_set_and_turned_off_through_the_form(
    operator: TestClient, world: World, settings: Settings
) -> None:
    op = operator_auth(settings)
    csrf = csrf_of(operator.get("/console/operator/emulator").text)
    answer = operator.post(
        "/console/operator/emulator/throttling",
        data={"csrf": csrf, "partner_requests": "2", "partner_seconds": "60", "headers": "1"},
    )
    assert answer.status_code == 200
    state = re.search(r'<p id="throttling-state">(.*?)</p>', answer.text, re.S)
    assert state and "partner 2 requests / 60 s" in state.group(1)
    stored = operator.get("/_ztd/v1/throttling", headers=op).json()
    assert stored["partner"] == {"requests": 2, "perSeconds": 60} and stored["rateLimitHeaders"]
    statuses = [operator.get("/v1/customers", headers=world.auth()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # the real gate applies what the form set
    off = operator.post(
        "/console/operator/emulator/throttling",
        data={"csrf": csrf, "partner_requests": "2", "partner_seconds": "60", "off": "1"},
    )
    assert "Off: no call is throttled" in off.text
    assert operator.get("/_ztd/v1/throttling", headers=op).json()["partner"] is None


@pytest.mark.parametrize("backend", ["sqlite"])
def test_forged_operator_posts_are_refused(operator: TestClient, settings: Settings) -> None:
    for sent in ({}, {"csrf": "0" * 64}):
        for path in OPERATOR_POSTS:
            answer = operator.post(path, data={**sent, "serial_number": "*", "error_code": "808"})
            assert answer.status_code == 403 and "CSRF" in answer.text, path
    assert operator.get("/_ztd/v1/rules", headers=operator_auth(settings)).json() == []


@pytest.fixture
def journaled(settings: Settings, db: Database) -> Iterator[TestClient]:
    journal_on = settings.model_copy(update={"journal": True})
    with TestClient(create_app(journal_on, db=db, embedded_worker=False)) as test_client:
        yield test_client


@pytest.mark.parametrize("backend", ["sqlite"])
def test_recent_requests_filter_and_clear(
    journaled: TestClient, world: World, settings: Settings
) -> None:
    journaled.get(f"/v1/customers/{world.customer}", headers=world.auth())
    journaled.get(f"/v1/customers/{world.other_customer}", headers=world.auth())  # a 404
    sign_in(journaled, operator_token(settings))
    page = journaled.get("/console/operator/requests")
    assert page.status_code == 200
    table = re.search(r'<table id="requests-table">.*?</table>', page.text, re.S)
    assert table and f"GET /v1/customers/{world.customer}" in table.group(0)
    assert f"/v1/customers/{world.other_customer}" in table.group(0)
    assert "<time datetime=" in table.group(0) and "UTC" in table.group(0)
    only_404 = journaled.get("/console/operator/requests", params={"status": "404"})
    table = re.search(r'<table id="requests-table">.*?</table>', only_404.text, re.S)
    assert table and world.other_customer in table.group(0)
    assert f"/v1/customers/{world.customer}<" not in table.group(0).replace("</code>", "<")
    bad = journaled.get("/console/operator/requests", params={"status": "teapot"})
    assert bad.status_code == 400 and "is not a number" in bad.text
    none = journaled.get("/console/operator/requests", params={"partner_id": world.other_partner})
    assert 'id="no-requests"' in none.text and "matches these filters" in none.text
    # GUID filters match any spelling of the GUID (case, braces), as the API reads them.
    correlation = "c0ffee00-aaaa-4bbb-8ccc-0000000000de"
    journaled.get(
        f"/v1/customers/{world.customer}",
        headers=world.auth() | {"MS-CorrelationId": "{" + correlation.upper() + "}"},
    )
    for params in (
        {"correlation_id": correlation},
        {"correlation_id": correlation.replace("-", "").upper()},
        {"customer_id": "{" + world.customer.upper() + "}", "correlation_id": correlation},
    ):
        found = journaled.get("/console/operator/requests", params=params)
        table = re.search(r'<table id="requests-table">.*?</table>', found.text, re.S)
        assert table and table.group(0).count("<tr") == 2, params  # the header and the one
    cleared = journaled.post("/console/operator/requests/clear", data={"csrf": csrf_of(page.text)})
    assert cleared.status_code == 200
    assert "/v1/customers/" not in cleared.text  # only the console's own requests since


@pytest.mark.parametrize("backend", ["sqlite"])
def test_with_the_control_plane_off_the_emulator_page_is_gone(
    settings: Settings, db: Database, world: World
) -> None:
    closed = settings.model_copy(update={"control_plane": False})
    with TestClient(create_app(closed, db=db, embedded_worker=False)) as client:
        sign_in(client, operator_token(settings))
        overview = client.get("/console/operator")
        assert overview.status_code == 200 and "Emulator" not in overview.text
        assert client.get("/console/operator/emulator").status_code == 404
        csrf = csrf_of(overview.text)
        refused = client.post(
            "/console/operator/emulator/rules",
            data={"csrf": csrf, "serial_number": "*", "error_code": "808"},
        )
        assert refused.status_code == 404 and "ZTD_CONTROL_PLANE=false" in refused.text
        requests = client.get("/console/operator/requests")
        assert 'id="journal-off"' in requests.text and "ZTD_CONTROL_PLANE=true" in requests.text
        assert client.get("/console/operator/queue").status_code == 200


def test_operator_times_carry_their_zone(operator: TestClient, world: World) -> None:
    page = operator.get("/console/operator")
    stamps = re.findall(r'<time datetime="([^"]+)" title="([^"]+)">', page.text)
    assert stamps and all(when.endswith("Z") and title.endswith(" UTC") for when, title in stamps)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_console_is_never_faulted_throttled_or_journaled(
    journaled: TestClient, world: World, settings: Settings
) -> None:
    """A catch-all fault must not lock the operator out of the page that clears it, and the
    console's forms (a pasted token, a client secret, CSRF tokens) must not reach the
    journal."""
    op = operator_auth(settings)
    added = journaled.post("/_ztd/v1/faults", json={"status": 500}, headers=op)
    assert added.status_code == 201
    journaled.put(
        "/_ztd/v1/throttling", json={"partner": {"requests": 1, "perSeconds": 60}}, headers=op
    )
    assert journaled.get("/v1/customers", headers=world.auth()).status_code == 500
    token = operator_token(settings)
    sign_in(journaled, token)
    page = journaled.get("/console/operator/emulator")
    assert page.status_code == 200 and "faults-table" in page.text
    for _ in range(3):
        assert journaled.get("/console/operator/queue/live").status_code == 200
    cleared = journaled.post(
        "/console/operator/emulator/faults/clear", data={"csrf": csrf_of(page.text)}
    )
    assert cleared.status_code == 200 and 'id="no-faults"' in cleared.text
    kept = journaled.get("/_ztd/v1/requests", params={"limit": 1000}, headers=op).json()
    assert kept and not [e for e in kept if e["path"].startswith("/console")]
    assert token not in str(kept)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_overview_shows_one_partners_customers_and_bounds_the_list(
    operator: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = operator.get("/console/operator", params={"partner": world.partner})
    customers = re.search(r'<table id="customers-table">.*?</table>', one.text, re.S)
    assert customers and "Contoso" in customers.group(0) and "Litware" in customers.group(0)
    assert "Adatum" not in customers.group(0)
    assert "Northwind Partner" in one.text  # every partner is still listed
    bad = operator.get("/console/operator", params={"partner": "not-a-guid"})
    assert bad.status_code == 404 and "is not a GUID" in bad.text
    assert 'id="customers-cut"' not in operator.get("/console/operator").text
    monkeypatch.setattr("ztd.server.console.operator_pages.CUSTOMERS_SHOWN", 2)
    cut = operator.get("/console/operator")
    assert 'id="customers-cut"' in cut.text and "The first 2 are shown" in cut.text
    table = re.search(r'<table id="customers-table">.*?</table>', cut.text, re.S)
    assert table and table.group(0).count("<tr>") == 3  # the head and two customers
    # A partner's own pages are the API's: an operator token may not read them (403).
    assert operator.get("/console/customers").status_code == 403
