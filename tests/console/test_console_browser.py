"""The console in a real browser (Debian's Chromium), against a real server with the
embedded worker: sign in, the pre-flight report of a field file, an upload watched to
`finished`, its failures and their export, a policy assigned, and a Sales agent's view."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, wait_for
from tests.support.console_browser import csv_file, job_status, shot, sign_in, text_of, upload
from tests.support.shared import shared_dir
from tests.support.world import World, make_token
from ztd.identity import synthesize_device
from ztd.server.auth.tokens import Role
from ztd.server.settings import Settings

FIELD = shared_dir() / "fixtures" / "field-cases"


def test_upload_watch_progress_export_failures_assign_policy(
    server: str, world: World, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with chromium() as (driver_obj, downloads):
        driver: Any = driver_obj
        sign_in(driver, server, world.token)
        assert "Contoso" in driver.page_source
        shot(driver, "customers")

        # A field file with errors: the pre-flight report, and nothing sent.
        if FIELD.is_dir():
            upload(driver, server, world.customer, FIELD / "case11-unpadded-hash.csv", "bad")
            table = wait_for(lambda: driver.find_elements(By.ID, "preflight-errors"))[0]
            assert "nothing was sent" in driver.page_source
            assert "append" in table.text
            shot(driver, "preflight")

        # A clean file: the job page's counts update until `finished`.
        first = csv_file(tmp_path, "first.csv", list(range(1000, 1040)))
        upload(driver, server, world.customer, first, "first batch")
        wait_for(lambda: "/jobs/" in driver.current_url, what="the job page")
        wait_for(lambda: job_status(driver) == "finished", 60, "the first job to finish")
        assert text_of(driver, "count-done") == "40"
        assert driver.find_elements(By.ID, "no-failures")

        # Ten already registered plus ten new: ten 806 failures, grouped, with CSV lines.
        second = csv_file(tmp_path, "second.csv", list(range(1030, 1050)))
        upload(driver, server, world.customer, second, "second batch")
        wait_for(lambda: "/jobs/" in driver.current_url, what="the job page")
        wait_for(lambda: job_status(driver) == "finished", 60, "the second job to finish")
        assert text_of(driver, "count-failed") == "10"
        group = driver.find_element(By.CSS_SELECTOR, "details.failure-group")
        assert "806" in group.text and "ZtdDeviceAlreadyAssigned" in group.text
        assert "line 2" in group.text  # seed 1030 is the file's first device row
        shot(driver, "job")

        driver.find_element(By.ID, "export-failures").click()
        exported = wait_for(lambda: list(downloads.glob("failed-*.csv")), 20, "the export")[0]
        rows = list(csv.DictReader(io.StringIO(exported.read_text())))
        assert len(rows) == 10
        assert {r["Error code"] for r in rows} == {"806"}
        assert rows[0]["Hardware Hash"] == synthesize_device(1030).hardware_hash
        assert rows[0]["Original line"] == "line 2"

        # A policy, assigned to two selected devices of the first batch.
        driver.get(f"{server}/console/customers/{world.customer}/policies")
        driver.find_element(By.ID, "new-name").send_keys("Kiosk")
        driver.find_element(By.CSS_SELECTOR, "#new-policy input[value=skip_eula]").click()
        driver.find_element(By.ID, "create-policy").click()
        wait_for(lambda: "Kiosk" in driver.page_source, what="the new policy")
        driver.get(f"{server}/console/customers/{world.customer}/batches/first%20batch")
        boxes = driver.find_elements(By.CSS_SELECTOR, "input[name=device]")
        assert len(boxes) == 40
        boxes[0].click()
        boxes[1].click()
        Select(driver.find_element(By.ID, "assign-policy")).select_by_visible_text("Kiosk")
        driver.find_element(By.ID, "assign-button").click()
        wait_for(
            lambda: (
                [c.text for c in driver.find_elements(By.CSS_SELECTOR, "td.policy")].count("Kiosk")
                == 2
            ),
            what="the policy on two devices",
        )
        shot(driver, "devices")
        driver.get(f"{server}/console/customers/{world.customer}")
        shot(driver, "batches")


@pytest.mark.parametrize("backend", ["sqlite"])  # roles are the API's; storage is not at stake
def test_a_sales_agent_sees_no_write_controls(
    server: str, world: World, settings: Settings
) -> None:
    from selenium.webdriver.common.by import By

    sales = make_token(settings, world.partner, roles=(Role.SALES_AGENT,))
    with chromium(width=420, height=900) as (driver_obj, _downloads):  # a narrow window too
        driver: Any = driver_obj
        # `make run`'s sign-in link: the token in the fragment, never sent to the server.
        driver.get(f"{server}/console/sign-in#token={sales}")
        wait_for(lambda: "/console/customers" in driver.current_url, what="signed in")
        assert "#token" not in driver.current_url
        assert "Sales agent" in driver.page_source
        for path in (
            "/console/customers",
            f"/console/customers/{world.customer}",
            f"/console/customers/{world.customer}/policies",
        ):
            driver.get(server + path)
            forms = driver.find_elements(By.CSS_SELECTOR, "form[method=post]")
            assert [f.get_attribute("action") for f in forms] == [f"{server}/console/sign-out"], (
                path
            )
            assert not driver.find_elements(By.PARTIAL_LINK_TEXT, "Upload")
        # Nothing overflows the narrow window sideways.
        scroll, inner = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert inner < 640 and scroll <= inner
