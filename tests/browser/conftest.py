"""Browser tests: Playwright (from PyPI) driving Debian's Chromium against the whole
stack on loopback (:class:`tests.e2e.stack.Stack`: the admin app under gunicorn
with 2 workers and 4 threads, the exporter, Prometheus, Alertmanager, a target
site whose switches make sites go down, fake SMTP and Twilio).

Playwright's own browser download is not used (it cannot be fetched here): the
browser is ``/usr/bin/chromium`` (Debian package ``chromium``, which ``make test``
installs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import ADMIN_USER, Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# How long the browser waits for what a test expects (live updates included).
WAIT_MS = 45_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium under Playwright, for one test module: Playwright's sync API runs an
    event loop in this thread while it is started, so it must be stopped before
    the asyncio tests of other modules run."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium package (make test does)"
    )
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions (Playwright's default for them is 5 s).
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("browser-stack")) as running:
        yield running


@pytest.fixture
def context(browser, stack: Stack, tmp_path: Path) -> Iterator[object]:
    ctx = browser.new_context(  # type: ignore[attr-defined]
        base_url=stack.admin_url,
        accept_downloads=True,
        viewport={"width": 1360, "height": 900},
        timezone_id="UTC",
    )
    ctx.set_default_timeout(WAIT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context) -> object:
    return context.new_page()


def log_in(page, stack: Stack, next_path: str = "/status") -> None:
    """Log in through the login form, as a person would."""
    page.goto(next_path)
    if "/login" in page.url:
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(stack.admin_password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def admin_page(page, stack: Stack) -> object:
    log_in(page, stack)
    return page
