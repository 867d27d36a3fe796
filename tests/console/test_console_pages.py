"""The console over the real ASGI app (no browser): sign-in and cookies, CSRF, tenancy and
roles exactly as the API decides them, the pre-flight report, error pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.console import csrf_of, devices_csv, sign_in, writing_forms
from tests.support.shared import shared_dir
from tests.support.world import World, make_token
from ztd.server.auth.tokens import Role
from ztd.server.clock import utc_now
from ztd.server.services import applications
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

FIELD = shared_dir() / "fixtures" / "field-cases"


def test_sign_in_sets_a_locked_down_session_cookie(client: TestClient, world: World) -> None:
    page = client.get("/console/sign-in")
    nonce = csrf_of(page.text)
    answer = client.post(
        "/console/sign-in",
        data={"csrf": nonce, "token": world.token},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("ztd_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    assert "Path=/console" in cookie


def test_sign_in_refuses_a_bad_token_and_a_missing_csrf(client: TestClient) -> None:
    nonce = csrf_of(client.get("/console/sign-in").text)
    bad = client.post("/console/sign-in", data={"csrf": nonce, "token": "not.a.token"})
    assert bad.status_code == 400 and "The token was rejected" in bad.text
    forged = client.post("/console/sign-in", data={"csrf": "guess", "token": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text


def test_pages_need_a_session(client: TestClient, world: World) -> None:
    answer = client.get(f"/console/customers/{world.customer}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/sign-in?next=")


def test_another_partners_resources_answer_as_missing(client: TestClient, world: World) -> None:
    sign_in(client, world.token)
    assert "Contoso" in client.get("/console/customers").text
    assert "Adatum" not in client.get("/console/customers").text
    other = world.other_customer
    for path in (
        f"/console/customers/{other}",
        f"/console/customers/{other}/batches/anything",
        f"/console/customers/{other}/jobs/8e0e3b1c-5a5e-4b7b-9a55-0c7d3f2e8a11",
        f"/console/customers/{other}/policies",
        f"/console/customers/{other}/jobs/8e0e3b1c-5a5e-4b7b-9a55-0c7d3f2e8a11/failures.csv",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "<title>Not found" in answer.text  # the console's layout, the API's words
        assert "(60003)" in answer.text
    missing = client.get(f"/console/customers/{world.customer}/batches/nope")
    assert missing.status_code == 404 and "was not found for this customer" in missing.text


def test_a_sales_agent_sees_no_write_form_and_a_forged_post_is_refused(
    client: TestClient, world: World, settings: Settings
) -> None:
    sign_in(client, world.token)  # an admin agent makes a policy and a batch first
    policies = f"/console/customers/{world.customer}/policies"
    csrf = csrf_of(client.get(policies).text)
    client.post(policies, data={"csrf": csrf, "name": "Kiosk", "settings": "skip_eula"})
    upload = client.post(
        f"/console/customers/{world.customer}/upload",
        data={"csrf": csrf, "new_batch": "b1"},
        files={"file": ("d.csv", devices_csv(range(900, 902)), "text/csv")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text

    client.cookies.clear()
    sign_in(client, make_token(settings, world.partner, roles=(Role.SALES_AGENT,)))
    for path in (
        "/console/customers",
        f"/console/customers/{world.customer}",
        f"/console/customers/{world.customer}/batches/b1",
        policies,
        upload.headers["location"],
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert writing_forms(page.text) == [], path
        assert "Upload devices" not in page.text
    csrf = csrf_of(client.get("/console/customers").text)  # the sign-out form's token
    forged = client.post(policies, data={"csrf": csrf, "name": "Forged"})
    assert forged.status_code == 403 and "reads only" in forged.text
    assert "Forged" not in client.get(policies).text
    assert client.get(f"/console/customers/{world.customer}/upload").status_code == 403


def test_a_post_without_the_sessions_csrf_token_is_refused(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.token)
    policies = f"/console/customers/{world.customer}/policies"
    for sent in ({}, {"csrf": "0" * 64}):
        answer = client.post(policies, data={**sent, "name": "Sneaky"})
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert "Sneaky" not in client.get(policies).text


@pytest.mark.skipif(not FIELD.is_dir(), reason="field fixtures not present")
def test_upload_of_a_file_with_errors_shows_the_preflight_report_and_sends_nothing(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.token)
    page = client.get(f"/console/customers/{world.customer}/upload")
    data = (FIELD / "case11-unpadded-hash.csv").read_bytes()
    answer = client.post(
        f"/console/customers/{world.customer}/upload",
        data={"csrf": csrf_of(page.text), "new_batch": "never"},
        files={"file": ("case11.csv", data, "text/csv")},
    )
    assert answer.status_code == 400
    assert "nothing was sent" in answer.text
    table = re.search(r'<table id="preflight-errors">.*?</table>', answer.text, re.S)
    assert table and "append" in table.group(0)  # the remedy: the padding to append
    assert "never" not in client.get(f"/console/customers/{world.customer}").text


def test_unknown_console_pages_and_static_assets(client: TestClient, world: World) -> None:
    sign_in(client, world.token)
    missing = client.get("/console/no/such/page")
    assert missing.status_code == 404 and "ztd console" in missing.text
    htmx = client.get("/console/static/htmx-2.0.11.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content
    assert client.get("/console/static/htmx-LICENSE.txt").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])  # the checker and the API's words, not storage
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("case03", (FIELD / "case03-no-header.csv"), "Add this line at the top of the file"),
        ("bad.json", b'[{"hardwareHash": "AAAA"}, 7]', '<td class="num">2</td>'),
        ("empty.csv", b"Device Serial Number,Windows Product ID,Hardware Hash\r\n", "no device"),
        ("bytes.csv", b"\xff\xfe\x00\x00garbage", "the encoding changes part-way"),
        # The service's CSV path is the checker's: one precise finding, not an 803.
        (
            "open-quote.csv",
            b'Device Serial Number,Windows Product ID,Hardware Hash\r\n"S1,,AAAA\r\nS2,,\r\n',
            "unterminated quoted field: the quotation mark at line 2, column 1",
        ),
    ],
)
def test_preflight_variants_report_precisely_and_send_nothing(
    client: TestClient, world: World, name: str, data: object, expected: str
) -> None:
    if isinstance(data, type(FIELD)):
        if not data.is_file():
            pytest.skip("field fixtures not present")
        data = data.read_bytes()
    assert isinstance(data, bytes)
    sign_in(client, world.token)
    page = client.get(f"/console/customers/{world.customer}/upload")
    answer = client.post(
        f"/console/customers/{world.customer}/upload",
        data={"csrf": csrf_of(page.text), "new_batch": "never"},
        files={"file": (name, data, "application/octet-stream")},
    )
    assert answer.status_code == 400, answer.text
    assert "nothing was sent" in answer.text
    table = re.search(r'<table id="preflight-errors">.*?</table>', answer.text, re.S)
    assert table and expected in table.group(0)
    assert "never" not in client.get(f"/console/customers/{world.customer}").text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_apis_refusal_of_an_upload_is_shown_with_its_description(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.token)
    page = client.get(f"/console/customers/{world.customer}/upload")
    answer = client.post(
        f"/console/customers/{world.customer}/upload",
        data={"csrf": csrf_of(page.text), "new_batch": "a/b"},
        files={"file": ("d.csv", devices_csv(range(905, 906)), "text/csv")},
    )
    assert answer.status_code == 400
    assert "The service refused the upload" in answer.text and "contains &#39;/&#39;" in answer.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sign_in_with_client_credentials(client: TestClient, world: World, db: Database) -> None:
    with db.write() as conn:
        client_id, secret = applications.add_application(conn, world.partner, "tool", utc_now())
    nonce = csrf_of(client.get("/console/sign-in").text)
    wrong = client.post(
        "/console/sign-in", data={"csrf": nonce, "client_id": client_id, "client_secret": "x"}
    )
    assert wrong.status_code == 400 and "client credentials were refused" in wrong.text
    nonce = csrf_of(wrong.text)
    answer = client.post(
        "/console/sign-in",
        data={"csrf": nonce, "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 200 and "Contoso" in answer.text
    assert "application" in answer.text  # the viewer's label: an app-only token
