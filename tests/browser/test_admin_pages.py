"""The admin app in a real browser, against the whole stack: log in; add a site
through the form; see it on the status dashboard and see it go down live, without
a reload; the alerts page with who was told; the per-site history; download the
report as CSV and Excel and open both; Prometheus going away and coming back, live;
the interactive API docs. A screenshot of the dashboard goes to
docs/screenshot-status.png for the README."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import WAIT_MS, log_in
from tests.e2e.stack import ADMIN_USER, Contact, Site, Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-status.png"
ANN = Contact("Ann Example", email="ann@example.com", phone="+14155552680")


def row(page: Page, slug: str):
    return page.locator(f'#status-board tr[data-site="{slug}"]')


def mark_page(page: Page) -> None:
    """Leave a mark in the page's JavaScript state: a reload would wipe it."""
    page.evaluate("window.__upwatchNoReload = 'still here'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__upwatchNoReload") == "still here"


def wait_live(page: Page) -> None:
    expect(page.locator("#status-board")).to_have_attribute("data-live", "live")


@pytest.fixture(scope="module")
def outage(stack: Stack) -> Site:
    """A site with a contact that went down and came back up: an incident, an SMS
    and an email route for each of the two events."""
    site = stack.add_site("blog", [ANN], name="Blog")
    stack.wait_monitored(site)
    stack.down(site)
    stack.wait_incidents(site, lambda found: len(found) == 1, timeout=60)
    stack.twilio.wait_for(lambda s: s.to == ANN.phone, timeout=60)
    stack.up(site)
    stack.wait_incidents(site, lambda found: found and found[0]["ended_at"], timeout=60)
    stack.twilio.wait_for(lambda s: s.to == ANN.phone, count=2, timeout=60)
    return site


# --------------------------------------------------------------------------- tests


def test_login(page: Page, stack: Stack) -> None:
    page.goto("/status")
    expect(page).to_have_url(f"{stack.admin_url}/login?next=/status")
    page.get_by_label("Username").fill(ADMIN_USER)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    log_in(page, stack)
    expect(page).to_have_url(f"{stack.admin_url}/status")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    expect(page.locator(".who")).to_contain_text(ADMIN_USER)


def test_add_a_site_and_see_it_go_down_live(admin_page: Page, stack: Stack) -> None:
    page = admin_page
    stack.target.set_switch("shop", up=True)
    page.goto("/sites/new")
    page.locator('input[name="name"]').fill("Web shop")
    page.locator('input[name="id"]').fill("shop")
    page.locator('input[name="url"]').fill(stack.target.url("/switch/shop"))
    page.locator('input[name="interval"]').fill("1s")
    page.locator('input[name="timeout"]').fill("1s")
    page.locator('input[name="confirmations"]').fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{stack.admin_url}/sites/shop")
    expect(page.get_by_role("heading", name="Web shop")).to_be_visible()

    page.goto("/status")
    shop = row(page, "shop")
    expect(shop).to_contain_text("Web shop")
    wait_live(page)
    mark_page(page)
    # The exporter picks up the new site list, Prometheus scrapes it, the event
    # stream tells the page: "unknown" turns "up" in place.
    expect(shop).to_have_attribute("data-state", "up")
    expect(shop.locator('[data-field="state"]')).to_have_text("up")
    expect(shop.locator('[data-field="response"]')).to_contain_text("ms")

    stack.target.set_switch("shop", up=False)
    expect(shop).to_have_attribute("data-state", "down")
    expect(shop.locator('[data-field="state"]')).to_have_text("down")
    expect(shop.locator('[data-field="reason"]')).to_have_text("status")
    expect(page.locator('[data-count="down"]')).not_to_have_text("0")
    assert_not_reloaded(page)

    stack.target.set_switch("shop", up=True)
    expect(shop).to_have_attribute("data-state", "up")
    # A site added meanwhile: the page offers a reload rather than a half list.
    expect(page.locator("#new-sites")).to_be_hidden()
    stack.add_site("extra", name="Extra")
    expect(page.locator("#new-sites")).to_be_visible()
    assert_not_reloaded(page)


def test_alerts_page_says_who_was_told(admin_page: Page, outage: Site) -> None:
    page = admin_page
    page.get_by_role("link", name="Alerts", exact=True).click()
    expect(page).to_have_url(re.compile(r"/alerts$"))
    down = page.locator('tr[data-site="blog"][data-kind="down"]')
    up = page.locator('tr[data-site="blog"][data-kind="up"]')
    expect(down).to_have_count(1)
    expect(down).to_contain_text("DOWN")
    expect(down.locator('li[data-channel="sms"]')).to_contain_text("SMS sent: Ann Example")
    expect(down.locator('li[data-channel="email"]')).to_contain_text("email routed: Ann Example")
    expect(up).to_contain_text("UP")
    expect(up).to_contain_text("after")
    expect(up.locator('li[data-channel="sms"]')).to_contain_text("SMS sent")
    # The phone number is masked.
    expect(page.locator("table.alerts")).not_to_contain_text(ANN.phone or "")


def test_site_history_page(admin_page: Page, outage: Site) -> None:
    page = admin_page
    page.goto("/history")
    page.get_by_role("link", name="Blog").first.click()
    expect(page).to_have_url(re.compile(r"/history/blog"))
    expect(page.locator('[data-figure="incidents"]')).to_have_text("1")
    expect(page.locator("table.incidents tbody tr")).to_have_count(1)
    expect(page.locator("svg.timeline rect.seg-down")).to_have_count(1)
    page.get_by_role("link", name="7d").click()
    expect(page.locator('[data-figure="incidents"]')).to_have_text("1")


def test_download_the_report_and_open_it(admin_page: Page, outage: Site, tmp_path: Path) -> None:
    page = admin_page
    today = datetime.now(UTC).date().isoformat()
    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_label("From").fill(today)
    page.get_by_label("To").fill(today)
    page.locator('input[name="site"][value="blog"]').check()
    page.get_by_role("button", name="Show summary").click()
    summary = page.locator('table.report-summary tr[data-site="blog"]')
    expect(summary).to_be_visible()
    expect(summary.locator("td.num").nth(1)).to_have_text("1")  # one incident

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    csv_path = tmp_path / info.value.suggested_filename
    info.value.save_as(csv_path)
    assert csv_path.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(csv_path.read_text())))
    incidents = [r for r in rows[1:] if r and r[0] == "blog" and r[-1] == "closed"]
    assert len(incidents) == 1, rows

    with page.expect_download() as info:
        page.get_by_role("link", name="Download Excel").click()
    xlsx_path = tmp_path / info.value.suggested_filename
    info.value.save_as(xlsx_path)
    book = openpyxl.load_workbook(xlsx_path)
    sheet = book["Incidents"]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert any(v and v[0] == "blog" for v in values[1:]), values
    assert isinstance(next(v for v in values[1:] if v[0] == "blog")[2], datetime)
    assert "Summary" in book.sheetnames


def test_prometheus_down_and_back_is_shown_live(admin_page: Page, stack: Stack) -> None:
    page = admin_page
    page.goto("/status")
    wait_live(page)
    banner = page.locator("#prom-banner")
    expect(banner).to_be_hidden()
    mark_page(page)
    stack.prometheus.stop()
    try:
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Prometheus unreachable")
        expect(page.locator("#status-board tr[data-state='unknown']").first).to_be_visible()
        assert page.locator("#status-board tr[data-state='up']").count() == 0
    finally:
        stack.prometheus.start()
    expect(banner).to_be_hidden(timeout=WAIT_MS)
    assert_not_reloaded(page)


def test_api_docs_try_it(admin_page: Page, stack: Stack, outage: Site) -> None:
    page = admin_page
    page.get_by_role("link", name="API docs").click()
    page.locator("#token-form").get_by_label("Password").fill(stack.admin_password)
    page.get_by_role("button", name="Get a token").click()
    expect(page.locator("#token-status")).to_contain_text("token set")
    op = page.locator("details#sites_api_list_get")
    op.locator("summary").click()
    op.get_by_role("button", name="Try it").click()
    expect(op.locator(".status")).to_have_text("200 OK")
    expect(op.locator(".response")).to_contain_text('"id": "blog"')


def test_screenshot_of_the_dashboard(
    admin_page: Page, stack: Stack, outage: Site, tmp_path: Path
) -> None:
    """The README's picture: sites up, down, in maintenance and paused. Written to
    docs/screenshot-status.png when that file is missing or UPWATCH_UPDATE_SCREENSHOT=1
    (so that a test run does not change a committed file each time)."""
    existing = {s["id"] for s in stack.api("GET", "/api/v1/sites")["sites"]}
    if "docs" not in existing:
        stack.add_site("docs", name="Documentation", maintenance=True)
    if "legacy" not in existing:
        stack.api(
            "POST",
            "/api/v1/sites",
            json={"id": "legacy", "name": "Legacy portal", "url": "https://legacy.invalid/",
                  "paused": True},
            expect=201,
        )  # fmt: skip
    if "shop" not in existing:
        stack.add_site("shop", name="Web shop")
    stack.target.set_switch("shop", up=False)
    page = admin_page
    page.goto("/status")
    wait_live(page)
    expect(row(page, "shop")).to_have_attribute("data-state", "down")
    expect(row(page, "docs")).to_have_attribute("data-state", "maintenance")
    wait_until(
        lambda: page.locator("#status-board tr[data-state='up']").count(),
        lambda n: n >= 1,
        WAIT_MS / 1000,
        what="a site up on the dashboard",
    )
    shot = tmp_path / SCREENSHOT.name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if not SCREENSHOT.exists() or os.environ.get("UPWATCH_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    stack.target.set_switch("shop", up=True)
