"""The webhook pages in a real browser (Debian's Chromium), against a real server with the
embedded worker: add an endpoint on a local receiver, see its secret once, send it a test
event and watch the attempt arrive in the delivery log; a narrow window too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import chromium, wait_for
from tests.support.console_browser import shot, sign_in
from tests.support.receiver import receiver
from tests.support.world import World
from ztd.server.settings import Settings


@pytest.mark.parametrize("backend", ["sqlite"])  # delivery on storage is tests/server/webhooks'
def test_add_a_webhook_send_a_test_event_and_see_the_attempt(
    server: str, world: World, settings: Settings
) -> None:
    from selenium.webdriver.common.by import By

    settings.webhook_allow_private = "loopback"  # the receiver is on 127.0.0.1
    with receiver() as hook, chromium() as (driver_obj, _downloads):
        driver: Any = driver_obj
        sign_in(driver, server, world.token)
        driver.find_element(By.LINK_TEXT, "Webhooks").click()
        wait_for(lambda: driver.find_elements(By.ID, "no-webhooks"), what="the empty state")

        driver.find_element(By.ID, "webhook-url").send_keys(hook.url)
        driver.find_element(By.CSS_SELECTOR, "input[value='devicebatch.created']").click()
        driver.find_element(By.ID, "add-webhook").click()
        secret = wait_for(lambda: driver.find_elements(By.ID, "secret-value"), what="the secret")
        assert secret[0].text.startswith("whsec_")
        assert "won't be shown again" in driver.page_source

        driver.find_element(By.CSS_SELECTOR, "button[id^='test-']").click()
        wait_for(lambda: driver.find_elements(By.ID, "test-queued"), what="the delivery log")
        # htmx refreshes the log while the delivery is due: no reload needed.
        delivered = wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, "article[data-status=delivered]"),
            30,
            "the test event delivered",
        )
        attempt = delivered[0].find_element(By.CSS_SELECTOR, "table.attempts tbody tr")
        assert attempt.find_element(By.CSS_SELECTOR, "td.http-status").text == "200"
        assert " ms" in attempt.text and '{"ok": true}' in attempt.text
        assert "webhook.test" in delivered[0].text
        assert len(hook.received) == 1 and hook.received[0].headers["webhook-signature"]
        shot(driver, "webhooks")

        # A narrow window: nothing overflows sideways (tables scroll in their own box).
        driver.set_window_size(420, 900)
        for page in (driver.current_url, f"{server}/console/webhooks"):
            driver.get(page)
            scroll, inner = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert inner < 640 and scroll <= inner, page


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_endpoint_that_answers_410_is_re_enabled_with_one_click(
    server: str, world: World, settings: Settings
) -> None:
    from selenium.webdriver.common.by import By

    settings.webhook_allow_private = "loopback"
    with receiver() as hook, chromium() as (driver_obj, _downloads):
        driver: Any = driver_obj
        hook.script = [410]  # the test event is answered 410 Gone: the endpoint is disabled
        sign_in(driver, server, world.token)
        driver.get(f"{server}/console/webhooks")
        driver.find_element(By.ID, "webhook-url").send_keys(hook.url)
        driver.find_element(By.CSS_SELECTOR, "input[value='devicebatch.created']").click()
        driver.find_element(By.ID, "add-webhook").click()
        wait_for(lambda: driver.find_elements(By.ID, "secret-value"), what="the secret")
        driver.find_element(By.CSS_SELECTOR, "button[id^='test-']").click()
        wait_for(lambda: driver.find_elements(By.ID, "test-queued"), what="the test queued")
        page = driver.current_url

        def disabled() -> list[Any]:
            driver.get(page)
            return list(driver.find_elements(By.ID, "reenable-button"))

        wait_for(disabled, 30, "the registration disabled by the 410")
        assert "410 Gone" in driver.page_source
        driver.find_element(By.ID, "reenable-button").click()
        wait_for(lambda: driver.find_elements(By.ID, "reenabled"), what="the re-enabled notice")
        assert not driver.find_elements(By.ID, "reenable-button")
        assert driver.find_elements(By.ID, "replay-failed")  # and the replay it suggests
