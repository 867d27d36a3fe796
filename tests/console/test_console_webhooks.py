"""The console's webhook pages over the real ASGI app (no browser): the registrations with
the secret shown once, the API's refusals in the form, the delivery log after real
deliveries to a local receiver, replay, re-enabling a disabled registration, paging, tenancy,
roles and CSRF."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from tests.support.console import csrf_of, sign_in, writing_forms
from tests.support.receiver import Receiver
from tests.support.world import World, make_token
from ztd.server.auth.tokens import Role
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.webhooks.delivery import Deliverer

PAGE = "/console/webhooks"
REG = "/webhooks/v1/registration"
JOB_DONE = "devicebatch.job.completed"


def add(client: TestClient, url: str, *events: str) -> tuple[int, str]:
    """Send the add form; its answer's status and page."""
    csrf = csrf_of(client.get(PAGE).text)
    answer = client.post(PAGE, data={"csrf": csrf, "url": url, "events": list(events)})
    return answer.status_code, answer.text


def secret_on(page: str) -> str | None:
    found = re.search(r'<code id="secret-value">(whsec_[^<]+)</code>', page)
    return found.group(1) if found else None


def registrations(client: TestClient, world: World, token: str | None = None) -> list[dict]:
    answer = client.get(REG, headers=world.auth(token))
    assert answer.status_code == 200, answer.text
    found: list[dict] = answer.json()["items"]
    return found


def test_adding_a_webhook_shows_its_secret_once_and_the_secret_signs_deliveries(
    client: TestClient, world: World, db: Database, loopback: Settings, hook: Receiver
) -> None:
    sign_in(client, world.token)
    empty = client.get(PAGE)
    assert empty.status_code == 200
    assert 'id="no-webhooks"' in empty.text and "Add your endpoint" in empty.text
    assert '<label for="webhook-url">' in empty.text  # labelled fields
    for name in ("devicebatch.job.completed", "devicebatch.created", "devicepolicy.job.completed"):
        assert f'value="{name}"' in empty.text  # the catalog's event types

    status, page = add(client, hook.url, JOB_DONE, "devicebatch.created")
    assert status == 201, page
    secret = secret_on(page)
    assert secret and "won't be shown again" in page
    (registered,) = registrations(client, world)
    assert registered["webhookEvents"] == [JOB_DONE, "devicebatch.created"]

    listed = client.get(PAGE).text
    assert hook.url in listed and "enabled" in listed and registered["id"] in listed
    assert secret not in listed and secret_on(listed) is None  # never again

    # The secret shown is the one that signs: a test event, delivered and verified.
    csrf = csrf_of(listed)
    sent = client.post(
        f"{PAGE}/{registered['id']}/test", data={"csrf": csrf}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert Deliverer(db, loopback).deliver_due() == 1
    payload = Webhook(secret).verify(hook.received[0].body, hook.received[0].headers)
    assert payload["type"] == "webhook.test"


def test_rotating_shows_the_new_secret_once_and_when_the_old_one_stops(
    client: TestClient, world: World, loopback: Settings, hook: Receiver
) -> None:
    sign_in(client, world.token)
    _status, page = add(client, hook.url, JOB_DONE)
    first = secret_on(page)
    (registered,) = registrations(client, world)
    rotated = client.post(f"{PAGE}/{registered['id']}/rotate", data={"csrf": csrf_of(page)})
    assert rotated.status_code == 200, rotated.text
    second = secret_on(rotated.text)
    assert second and second != first
    assert "The previous secret keeps signing beside it until" in rotated.text
    assert second not in client.get(PAGE).text


@pytest.mark.parametrize("backend", ["sqlite"])  # the API's validation, not storage
@pytest.mark.parametrize(
    ("url", "events", "expected"),
    [
        ("http://127.0.0.1:9/hook", [JOB_DONE], "webhookUrl: 127.0.0.1 is not a public unicast"),
        ("http://10.1.2.3/hook", [JOB_DONE], "not a public unicast address: private"),
        ("not a url", [JOB_DONE], "webhookUrl: has a space or control character at position 4"),
        ("https://example.com/hook", [], "webhookEvents: empty; name at least one of"),
    ],
)
def test_a_refused_webhook_is_shown_in_the_form_with_the_apis_words(
    client: TestClient,
    world: World,
    settings: Settings,
    url: str,
    events: list[str],
    expected: str,
) -> None:
    settings.webhook_allow_private = "false"  # a deployment's rule: no private targets
    sign_in(client, world.token)
    status, page = add(client, url, *events)
    assert status == 400, page
    problem = re.search(r'<div class="problem" role="alert" id="webhook-problems">.*?</div>', page)
    assert problem and expected in html.unescape(problem.group(0))
    assert f'value="{html.escape(url)}"' in page  # what was typed stays
    assert secret_on(page) is None
    assert registrations(client, world) == []


def test_the_delivery_log_shows_each_attempt_and_replays(
    client: TestClient, world: World, db: Database, loopback: Settings, hook: Receiver
) -> None:
    loopback.webhook_retry_seconds = [0]  # one attempt, then failed
    sign_in(client, world.token)
    add(client, hook.url, JOB_DONE)
    (registered,) = registrations(client, world)
    log = f"{PAGE}/{registered['id']}"
    assert 'id="no-deliveries"' in client.get(log).text

    hook.script = [503]
    csrf = csrf_of(client.get(PAGE).text)
    sent = client.post(f"{PAGE}/{registered['id']}/test", data={"csrf": csrf})
    assert sent.status_code == 200 and str(sent.url).startswith(f"http://testserver{log}?test=")
    assert "Not attempted yet" in sent.text and "hx-trigger" in sent.text  # live while due
    event_id = re.search(r'id="test-queued">Test event <code>([^<]+)</code>', sent.text)
    assert event_id

    deliverer = Deliverer(db, loopback)
    assert deliverer.deliver_due() == 1
    page = client.get(log).text
    card = re.search(rf'<article[^>]*id="event-{event_id.group(1)}".*?</article>', page, re.S)
    assert card, page
    shown = html.unescape(card.group(0))
    assert 'data-status="failed"' in shown and "webhook.test" in shown
    assert '<td class="http-status">503' in shown
    assert re.search(r'<td class="num">\d+ ms</td>', shown)
    assert '{"ok": true}' in shown  # the receiver's answer, excerpted
    assert re.search(r'<time datetime="[0-9T:-]+Z" title="[0-9: -]+ UTC">', shown)
    assert "hx-trigger" not in page  # nothing due: no polling

    # Replay the one event: sent again, now answered 200.
    replayed = client.post(f"{log}/events/{event_id.group(1)}/replay", data={"csrf": csrf_of(page)})
    assert replayed.status_code == 200 and "1 delivery queued again" in replayed.text
    assert deliverer.deliver_due() == 1
    page = client.get(log).text
    assert 'data-status="delivered"' in page and '<td class="http-status">200' in page

    # Replay the failed ones since a time (a datetime-local, read as UTC).
    hook.script = [500]
    client.post(f"{PAGE}/{registered['id']}/test", data={"csrf": csrf})
    assert deliverer.deliver_due() == 1
    since = client.post(f"{log}/replay", data={"csrf": csrf, "since": "2000-01-01T00:00"})
    assert since.status_code == 200 and "1 delivery queued again" in since.text
    assert deliverer.deliver_due() == 1
    assert len(hook.received) == 4
    bad = client.post(f"{log}/replay", data={"csrf": csrf, "since": "yesterday"})
    assert bad.status_code == 400
    assert "failedSince is not an ISO 8601 time" in html.unescape(bad.text)
    assert 'value="yesterday"' in bad.text


@pytest.mark.parametrize("backend", ["sqlite"])  # keyset paging over one table
def test_the_delivery_log_is_paged_newest_first(
    client: TestClient, world: World, loopback: Settings, hook: Receiver
) -> None:
    sign_in(client, world.token)
    add(client, hook.url, JOB_DONE)
    (registered,) = registrations(client, world)
    sent = [
        client.post(
            f"{REG}/validationEvents",
            json={"registrationId": registered["id"]},
            headers=world.auth(),
        ).json()["eventIds"][0]
        for _ in range(23)
    ]
    log = f"{PAGE}/{registered['id']}"
    first = client.get(log).text
    shown = re.findall(r'<article class="card delivery" id="event-([^"]+)"', first)
    assert shown == sent[::-1][:20]
    older = re.search(r'href="([^"]+)" id="older"', first)
    assert older
    second = client.get(html.unescape(older.group(1))).text
    shown = re.findall(r'<article class="card delivery" id="event-([^"]+)"', second)
    assert shown == sent[::-1][20:]
    assert 'id="older"' not in second
    assert client.get(f"{log}?before=abc").status_code == 404


def test_another_partners_webhook_answers_as_missing(
    client: TestClient, world: World, loopback: Settings, hook: Receiver
) -> None:
    theirs = client.post(
        REG,
        json={"webhookUrl": hook.url, "webhookEvents": [JOB_DONE]},
        headers=world.auth(world.other_token),
    ).json()
    sign_in(client, world.token)
    assert hook.url not in client.get(PAGE).text
    csrf = csrf_of(client.get(PAGE).text)
    other = f"{PAGE}/{theirs['id']}"
    for method, path in (
        ("GET", other),
        ("GET", f"{other}/deliveries"),
        ("POST", f"{other}/test"),
        ("POST", f"{other}/rotate"),
        ("POST", f"{other}/delete"),
        ("POST", f"{other}/replay"),
        ("POST", f"{other}/enable"),
        ("POST", f"{other}/events/some-event/replay"),
    ):
        data = {"csrf": csrf, "since": "2000-01-01T00:00"} if method == "POST" else None
        answer = client.request(method, path, data=data)
        assert answer.status_code == 404, (path, answer.text)
        assert "<title>Not found" in answer.text and "was not found" in answer.text, path
    assert [r["id"] for r in registrations(client, world, world.other_token)] == [theirs["id"]]
    assert client.get(f"{PAGE}/not-a-registration").status_code == 404


def test_a_sales_agent_sees_no_write_controls_and_a_forged_post_is_refused(
    client: TestClient, world: World, settings: Settings, loopback: Settings, hook: Receiver
) -> None:
    sign_in(client, world.token)
    add(client, hook.url, JOB_DONE)
    (registered,) = registrations(client, world)
    csrf = csrf_of(client.get(PAGE).text)
    client.post(f"{PAGE}/{registered['id']}/test", data={"csrf": csrf})

    client.cookies.clear()
    sign_in(client, make_token(settings, world.partner, roles=(Role.SALES_AGENT,)))
    log = f"{PAGE}/{registered['id']}"
    for path in (PAGE, log, f"{log}/deliveries"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert writing_forms(page.text) == [], path
    assert hook.url in client.get(PAGE).text and "webhook.test" in client.get(log).text
    csrf = csrf_of(client.get(PAGE).text)  # the sign-out form's token
    for path in (
        PAGE,
        *(f"{log}/{act}" for act in ("delete", "rotate", "test", "replay", "enable")),
    ):
        forged = client.post(path, data={"csrf": csrf, "url": "https://example.com/x"})
        assert forged.status_code == 403 and "reads only" in forged.text, path
    assert [r["id"] for r in registrations(client, world)] == [registered["id"]]


def test_a_post_without_the_sessions_csrf_token_is_refused(
    client: TestClient, world: World, loopback: Settings, hook: Receiver
) -> None:
    sign_in(client, world.token)
    add(client, hook.url, JOB_DONE)
    (registered,) = registrations(client, world)
    for path, sent in (
        (PAGE, {"url": "https://example.com/sneaky", "events": JOB_DONE}),
        (f"{PAGE}/{registered['id']}/delete", {}),
        (f"{PAGE}/{registered['id']}/rotate", {"csrf": "0" * 64}),
    ):
        answer = client.post(path, data=sent)
        assert answer.status_code == 403 and "CSRF" in answer.text, path
    assert [r["id"] for r in registrations(client, world)] == [registered["id"]]
    deleted = client.post(
        f"{PAGE}/{registered['id']}/delete",
        data={"csrf": csrf_of(client.get(PAGE).text)},
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and registrations(client, world) == []
    assert 'id="no-webhooks"' in client.get(PAGE).text


@pytest.mark.parametrize(
    ("policy", "reaching"),
    [
        ("false", "reaching public addresses only."),
        ("loopback", "reaching public addresses, and loopback (127.0.0.1, ::1) on this service."),
        ("true", "reaching public addresses, and private, loopback, link-local, CGN or unique"),
    ],
)
def test_the_add_form_hint_says_which_urls_this_service_takes(
    client: TestClient, world: World, settings: Settings, policy: str, reaching: str
) -> None:
    """http:// is accepted as https:// is; what the URL may reach is the deployment's
    ZTD_WEBHOOK_ALLOW_PRIVATE."""
    settings.webhook_allow_private = policy  # type: ignore[assignment]
    sign_in(client, world.token)
    page = client.get("/console/webhooks").text
    hint = re.search(r'<small class="hint" id="webhook-url-hint">(.*?)</small>', page)
    assert hint, page
    said = html.unescape(hint.group(1))
    assert said.startswith("An http:// or https:// URL") and "without user:password@" in said
    assert reaching in said, said


def disabled_by_410(
    client: TestClient,
    world: World,
    db: Database,
    loopback: Settings,
    hook: Receiver,
    token: str | None = None,
) -> dict:
    """A registration the endpoint disabled, as the API shows it: registered through the API
    (``token``: whose), sent a test event, answered 410 Gone."""
    registered = client.post(
        REG,
        json={"webhookUrl": hook.url, "webhookEvents": [JOB_DONE, "devicebatch.created"]},
        headers=world.auth(token),
    ).json()
    hook.script = [410]
    sent = client.post(
        f"{REG}/validationEvents",
        json={"registrationId": registered["id"]},
        headers=world.auth(token),
    )
    assert sent.status_code == 200, sent.text
    assert Deliverer(db, loopback).deliver_due() == 1
    shown = client.get(f"{REG}/{registered['id']}", headers=world.auth(token)).json()
    assert shown["status"] == "disabled" and "410 Gone" in shown["disabledReason"]
    return dict(shown)


def test_a_disabled_registration_is_re_enabled_from_its_page_then_replayed(
    client: TestClient, world: World, db: Database, loopback: Settings, hook: Receiver
) -> None:
    disabled = disabled_by_410(client, world, db, loopback, hook)
    sign_in(client, world.token)
    listed = client.get(PAGE).text
    assert f'id="reenable-{disabled["id"]}"' in listed and "410 Gone" in listed
    log = f"{PAGE}/{disabled['id']}"
    page = client.get(log).text
    form = re.search(r'<form[^>]*id="reenable".*?</form>', page, re.S)
    assert form, page
    assert f'action="/console/webhooks/{disabled["id"]}/enable"' in form.group(0)
    assert 'name="csrf"' in form.group(0) and hook.url in form.group(0)
    assert 'id="replay-failed"' not in page and 'id="send-test"' not in page  # not while disabled

    enabled = client.post(f"{log}/enable", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert enabled.status_code == 303 and enabled.headers["location"] == f"{log}?enabled=1"
    page = client.get(enabled.headers["location"]).text
    assert 'id="reenabled"' in page and 'id="reenable"' not in page
    assert '<span class="status active">enabled</span>' in page and "410 Gone" not in page
    assert 'id="replay-failed"' in page and 'id="send-test"' in page
    (shown,) = registrations(client, world)
    assert shown["status"] == "active" and "disabledReason" not in shown
    assert "disabledTime" not in shown
    assert (shown["webhookUrl"], shown["webhookEvents"]) == (hook.url, disabled["webhookEvents"])
    assert f'id="reenable-{disabled["id"]}"' not in client.get(PAGE).text

    # Another click on an active registration changes nothing (no PUT: no clock restarted).
    again = client.post(f"{log}/enable", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == log
    assert registrations(client, world) == [shown]

    # Then the replay the page offers: the event the 410 answered is delivered, now 200.
    since = client.post(f"{log}/replay", data={"csrf": csrf_of(page), "since": "2000-01-01T00:00"})
    assert since.status_code == 200 and "1 delivery queued again" in since.text
    assert Deliverer(db, loopback).deliver_due() == 1
    assert len(hook.received) == 2
    assert 'data-status="delivered"' in client.get(log).text


@pytest.mark.parametrize("backend", ["sqlite"])  # the API's validation, not storage
def test_a_re_enable_the_api_refuses_is_shown_in_its_form(
    client: TestClient, world: World, db: Database, loopback: Settings, hook: Receiver
) -> None:
    """The PUT validates the URL as at registration: one this deployment no longer allows
    (ZTD_WEBHOOK_ALLOW_PRIVATE changed since) stays disabled, the API's words in the form."""
    disabled = disabled_by_410(client, world, db, loopback, hook)
    loopback.webhook_allow_private = "false"
    sign_in(client, world.token)
    log = f"{PAGE}/{disabled['id']}"
    refused = client.post(f"{log}/enable", data={"csrf": csrf_of(client.get(log).text)})
    assert refused.status_code == 400, refused.text
    problem = re.search(
        r'<div class="problem" role="alert" id="reenable-problems">.*?</div>', refused.text, re.S
    )
    assert problem and "is not a public unicast" in html.unescape(problem.group(0))
    assert 'id="reenable-button"' in refused.text  # the form, to try again once fixed
    assert registrations(client, world) == [disabled]


@pytest.mark.parametrize("backend", ["sqlite"])  # roles, CSRF and tenancy: not storage
def test_re_enabling_takes_a_writer_the_sessions_csrf_token_and_ones_own_registration(
    client: TestClient,
    world: World,
    db: Database,
    settings: Settings,
    loopback: Settings,
    hook: Receiver,
) -> None:
    ours = disabled_by_410(client, world, db, loopback, hook)
    theirs = disabled_by_410(client, world, db, loopback, hook, world.other_token)
    log = f"{PAGE}/{ours['id']}"

    # A Sales agent sees the reason but no control, and a forged POST is refused.
    sign_in(client, make_token(settings, world.partner, roles=(Role.SALES_AGENT,)))
    for path in (PAGE, log):
        page = client.get(path).text
        assert "410 Gone" in page and writing_forms(page) == [], path
        assert "reenable" not in page, path
    forged = client.post(f"{log}/enable", data={"csrf": csrf_of(client.get(log).text)})
    assert forged.status_code == 403 and "reads only" in forged.text

    # An admin agent, without the session's CSRF token.
    client.cookies.clear()
    sign_in(client, world.token)
    for sent in ({}, {"csrf": "0" * 64}):
        answer = client.post(f"{log}/enable", data=sent)
        assert answer.status_code == 403 and "CSRF" in answer.text, sent

    # Another partner's registration answers as missing, and stays disabled.
    csrf = csrf_of(client.get(PAGE).text)
    other = client.post(f"{PAGE}/{theirs['id']}/enable", data={"csrf": csrf})
    assert other.status_code == 404 and "was not found" in other.text
    assert registrations(client, world) == [ours]
    assert registrations(client, world, world.other_token) == [theirs]
