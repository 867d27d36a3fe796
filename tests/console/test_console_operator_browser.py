"""The operator pages in a real browser (Debian's Chromium) against a real server: sign in
with an operator token, watch the queue drain live, add and clear a rule and a fault through
the forms (checked back through /_ztd/v1/), a partner's 404 on operator URLs, a forged POST
refused, and no page wider than a narrow window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import hash_device
from tests.support.browser import chromium, require_browser, wait_for
from tests.support.console_browser import shot, sign_in, text_of
from tests.support.live_server import live_server
from tests.support.world import World, make_token
from ztd.server.app import create_app
from ztd.server.auth.tokens import OPERATOR_TENANT, Role
from ztd.server.clock import utc_now
from ztd.server.jobs import leases, owners
from ztd.server.jobs.worker import Worker
from ztd.server.settings import Settings
from ztd.server.storage.database import Database

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # pages, not storage, at stake
OPERATOR_PAGES = ("", "/queue", "/requests", "/emulator")


@pytest.fixture
def journaled_server(db: Database, settings: Settings, world: World) -> Iterator[str]:
    """The server with the journal on and no embedded worker: the test drives the queue."""
    require_browser()
    app = create_app(settings.model_copy(update={"journal": True}), db=db, embedded_worker=False)
    with live_server(app) as url:
        yield url


def operator_sign_in(driver: Any, url: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/console/sign-in")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in-token").click()
    wait_for(lambda: driver.current_url.endswith("/console/operator"), what="the overview")


def test_operator_watches_the_queue_and_adds_and_clears_a_rule_and_a_fault(
    journaled_server: str, world: World, settings: Settings, db: Database
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url = journaled_server
    token = make_token(settings, OPERATOR_TENANT, roles=(Role.OPERATOR,))
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    devices = [hash_device(seed) for seed in range(3000, 3120)]  # three chunks of 50
    answer = httpx.post(
        f"{url}/v1/customers/{world.customer}/deviceBatches",
        json={"batchId": "lab", "devices": devices},
        headers=world.auth(),
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.headers["location"].rsplit("/", 1)[-1]
    with db.write() as conn:  # a lease held by a process of this host that is gone
        gone = str(owners.this_process("deadbeef")._replace(pid=999_999, started=1.0))
        leases.claim(conn, owner=gone, now=utc_now(), lease_seconds=30)

    with chromium() as (driver_obj, _downloads):
        driver: Any = driver_obj
        operator_sign_in(driver, url, token)
        assert "Fabrikam Partner" in driver.page_source and "Adatum" in driver.page_source
        shot(driver, "operator-overview")

        driver.find_element(By.LINK_TEXT, "Queue").click()
        wait_for(lambda: text_of(driver, "queued-chunks") == "2", what="two queued chunks")
        assert text_of(driver, "running-chunks") == "1"
        holders = driver.find_element(By.ID, "holders-table").text
        assert "process gone" in holders and "deadbeef" in holders
        stamp = driver.find_element(By.CSS_SELECTOR, "#jobs-table time")
        assert stamp.get_attribute("title").endswith(" UTC")  # UTC on hover
        assert "UTC" not in stamp.text  # shown in the viewer's zone by the page's script
        shot(driver, "operator-queue")

        worker = Worker(db, settings)
        worker.reap()  # the gone owner's chunk is requeued at once, not after its lease
        worker.run_until_idle()
        # The live section (htmx, every 2 s) shows the drained queue without a reload.
        wait_for(lambda: driver.find_elements(By.ID, "no-jobs"), 15, "the queue to drain")
        assert text_of(driver, "queued-chunks") == "0"
        assert text_of(driver, "retried-count") == "0"

        driver.find_element(By.LINK_TEXT, "Emulator").click()
        driver.find_element(By.ID, "rule-serial-number").send_keys("LAB-*")
        Select(driver.find_element(By.ID, "rule-error-code")).select_by_value("808")
        driver.find_element(By.ID, "rule-times").send_keys("5")
        driver.find_element(By.ID, "add-rule").click()
        wait_for(lambda: driver.find_elements(By.ID, "rules-table"), what="the rule")
        Select(driver.find_element(By.ID, "fault-method")).select_by_visible_text("GET")
        driver.find_element(By.ID, "fault-path").send_keys("*/batchJobStatus/*")
        Select(driver.find_element(By.ID, "fault-status")).select_by_visible_text("503")
        driver.find_element(By.ID, "fault-count").send_keys("3")
        driver.find_element(By.ID, "add-fault").click()
        wait_for(lambda: driver.find_elements(By.ID, "faults-table"), what="the fault")
        rules, faults = api.get("/_ztd/v1/rules").json(), api.get("/_ztd/v1/faults").json()
        assert [(r["match"], r["outcome"], r["remaining"]) for r in rules] == [
            ({"serialNumber": "LAB-*"}, {"errorCode": "808"}, 5)
        ]
        assert [(f["method"], f["path"], f["status"], f["count"]) for f in faults] == [
            ("GET", "*/batchJobStatus/*", 503, 3)
        ]
        status_url = f"{url}/v1/customers/{world.customer}/batchJobStatus/{job_id}"
        answers = [httpx.get(status_url, headers=world.auth()).status_code for _ in range(2)]
        assert answers == [503, 503]  # the fault the form set (on the next three calls)
        driver.get(f"{url}/console/operator/emulator")  # from the top, for the picture
        shot(driver, "operator-emulator")

        # A refused form: the field named, what was typed kept.
        driver.find_element(By.ID, "fault-probability").send_keys("0.5")
        driver.find_element(By.ID, "add-fault").click()
        box = wait_for(lambda: driver.find_elements(By.ID, "fault-problems"), what="refusal")
        assert "Give a status [429, 500, 502, 503, 504] or a latencyMs" in box[0].text
        field = driver.find_element(By.ID, "fault-probability")
        assert field.get_attribute("value") == "0.5"

        driver.find_element(By.CSS_SELECTOR, "#rules-table button").click()
        wait_for(lambda: driver.find_elements(By.ID, "no-rules"), what="the rule removed")
        driver.find_element(By.ID, "clear-faults").click()
        wait_for(lambda: driver.find_elements(By.ID, "no-faults"), what="the faults cleared")
        assert api.get("/_ztd/v1/rules").json() == [] and api.get("/_ztd/v1/faults").json() == []

        driver.find_element(By.LINK_TEXT, "Requests").click()
        table = driver.find_element(By.ID, "requests-table").text
        assert f"/v1/customers/{world.customer}/deviceBatches" in table
        assert table.count("injected fault") == 2
        shot(driver, "operator-requests")

        # A forged POST (no session token in the form) changes nothing.
        driver.execute_script(
            """var f = document.createElement('form'); f.method = 'post';
            f.action = '/console/operator/emulator/rules';
            [['serial_number', '*'], ['error_code', '808'], ['csrf', 'forged']].forEach(
              function (p) { var i = document.createElement('input'); i.name = p[0];
                             i.value = p[1]; f.appendChild(i); });
            document.body.appendChild(f); f.submit();"""
        )
        wait_for(lambda: "Form expired" in driver.title, what="the refusal")
        assert api.get("/_ztd/v1/rules").json() == []

        # A narrow window: nothing overflows sideways, every page.
        driver.set_window_size(420, 900)
        for path in OPERATOR_PAGES:
            driver.get(f"{url}/console/operator{path}")
            scroll, inner = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert inner < 640 and scroll <= inner, (path, scroll, inner)


def test_a_partner_finds_no_operator_page(server_for_partner: str, world: World) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as (driver_obj, _downloads):
        driver: Any = driver_obj
        sign_in(driver, server_for_partner, world.token)
        nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]").text
        assert "Queue" not in nav and "Emulator" not in nav
        for path in (*OPERATOR_PAGES, "/queue/live"):
            driver.get(f"{server_for_partner}/console/operator{path}")
            assert driver.title.startswith("Not found"), path
            assert "(404)" in driver.find_element(By.TAG_NAME, "h1").text


@pytest.fixture
def server_for_partner(db: Database, settings: Settings, world: World) -> Iterator[str]:
    require_browser()
    with live_server(create_app(settings, db=db, embedded_worker=False)) as url:
        yield url
