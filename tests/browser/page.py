"""Headless Chromium driven by selenium, with explicit waits and screenshots, for the browser test."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
T = TypeVar("T")


def find_chromium() -> tuple[str, str]:
    """Paths of Debian's ``chromium`` and ``chromedriver``; an error that says how to get them."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    return browser, driver


class Page:
    """One headless Chromium with a fresh profile, pointed at one Airflow.

    :param base_url: The Airflow API server, e.g. ``http://127.0.0.1:8080``.
    :param artifacts: Folder for the screenshots.
    """

    def __init__(self, *, base_url: str, artifacts: Path) -> None:
        browser, driver = find_chromium()
        self.base_url = base_url
        self.artifacts = artifacts
        self.profile = tempfile.mkdtemp(prefix="mzprov-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(driver))
        self.screenshots: list[Path] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait(self, what: str, condition: Callable[[], T | None], timeout: float = 30) -> T:
        """Poll ``condition`` until it returns something truthy; fail naming ``what`` otherwise."""
        try:
            result = WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(
                lambda _: _quietly(condition)
            )
        except TimeoutException:
            shot = self.screenshot(f"failed-{_slug(what)}")
            raise AssertionError(f"waited {timeout:.0f}s for {what}; screenshot: {shot}") from None
        assert result is not None  # until() returns only a truthy answer
        return result

    def element(self, what: str, by: str, locator: str, timeout: float = 30) -> WebElement:
        """The first visible element matching ``locator``, waited for."""

        def visible() -> WebElement | None:
            return next((e for e in self.driver.find_elements(by, locator) if e.is_displayed()), None)

        return self.wait(what, visible, timeout)

    def button(self, label: str, timeout: float = 30) -> WebElement:
        """A visible, enabled button by its text or its aria-label (the last one: dialogs come last)."""

        def enabled() -> WebElement | None:
            buttons = self.driver.find_elements(
                By.XPATH, f"//button[normalize-space(.)='{label}' or @aria-label='{label}']"
            )
            shown = [b for b in buttons if b.is_displayed() and b.is_enabled()]
            return shown[-1] if shown else None

        return self.wait(f"the {label!r} button", enabled, timeout)

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_for_text(self, text: str, timeout: float = 30) -> str:
        return self.wait(f"the text {text!r}", lambda: self.text() if text in self.text() else None, timeout)

    def screenshot(self, name: str) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{len(self.screenshots) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.screenshots.append(path)
        print(f"screenshot: {path}", flush=True)
        return path

    def api(self, path: str) -> Any:
        """GET from Airflow's REST API (everyone is an admin in this Airflow: no token needed)."""
        with urllib.request.urlopen(f"{self.base_url}/api/v2{path}", timeout=30) as response:
            return json.load(response)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def _quietly(condition: Callable[[], T | None]) -> T | None:
    try:
        return condition()
    except WebDriverException:  # the element went stale while React re-rendered: try again
        return None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:50]


def wait_until(what: str, condition: Callable[[], T | None], timeout: float, interval: float = 2) -> T:
    """Poll something outside the browser (the REST API) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"waited {timeout:.0f}s for {what}")
