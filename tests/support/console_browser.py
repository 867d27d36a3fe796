"""Steps of the console's browser tests: sign in, upload, read what htmx keeps replacing,
and screenshots for docs/console/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.browser import wait_for
from tests.support.console import devices_csv

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


def csv_file(folder: Path, name: str, seeds: list[int]) -> Path:
    path = folder / name
    path.write_bytes(devices_csv(seeds))
    return path


def sign_in(driver: Any, url: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/console/sign-in")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in-token").click()
    wait_for(lambda: "/console/customers" in driver.current_url, what="the customers page")


def upload(driver: Any, url: str, customer: str, path: Path, batch: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/console/customers/{customer}/upload")
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.ID, "new_batch").send_keys(batch)
    driver.find_element(By.ID, "upload-button").click()


def text_of(driver: Any, element_id: str) -> str:
    """An element's text, read in one script call: htmx replaces the progress section twice
    a second, so a Selenium element handle may be stale by the time it is read."""
    script = "var e = document.getElementById(arguments[0]); return e ? e.textContent : '';"
    return str(driver.execute_script(script, element_id)).strip()


def job_status(driver: Any) -> str:
    return text_of(driver, "job-status")


def shot(driver: Any, name: str) -> None:
    """Refresh docs/console/NAME.png when ZTD_CONSOLE_SCREENSHOTS=1 (kept out of normal
    runs: a test run should not change the checkout)."""
    import os

    if os.environ.get("ZTD_CONSOLE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
