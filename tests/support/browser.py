"""Debian's Chromium driven through its ChromeDriver (Selenium), headless, with a fresh
profile: no browser download step (the machine reaches only package mirrors)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
T = TypeVar("T")


def require_browser() -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        import os

        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium and chromium-driver are required in CI (.ci/run installs them)")
        pytest.skip("chromium / chromium-driver not installed")


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[tuple[object, Path]]:
    """A browser and its download folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_browser()
    profile = Path(tempfile.mkdtemp(prefix="ztd-chromium-"))
    downloads = profile / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile / 'profile'}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver, downloads
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(
    check: Callable[[], T | None], timeout: float = 30, what: str = "", interval: float = 0.05
) -> T:
    """``check()`` once it is truthy, looking every ``interval`` seconds. A page that htmx or
    a form submission replaces while ``check`` reads it (a stale element, a node no longer in
    the document) is "not yet", like a falsy answer: the next look reads the new page."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def settled() -> T | None:
        try:
            return check()
        except StaleElementReferenceException:
            return None
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return None
            raise

    return wait_until(settled, timeout, interval, what)  # type: ignore[return-value]
