"""The reports page: choose a range and sites, see the summary, follow the download
links (the reports module's browser URLs) to the CSV and the Excel file."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.roles import Role
from tests.admin_app.conftest import AuthActions
from tests.admin_app.test_status_pages import add_incident, add_site

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(app: Flask) -> Flask:
    app.config["CLOCK"] = lambda: NOW
    return app


@pytest.fixture
def sites(db: Session):
    shop = add_site(db, "shop", "Web shop")
    blog = add_site(db, "blog", "Blog")
    add_site(db, "api", "API")
    add_incident(
        db, shop, datetime(2024, 5, 2, 10, tzinfo=UTC), datetime(2024, 5, 2, 11, tzinfo=UTC)
    )
    add_incident(
        db, blog, datetime(2024, 5, 3, 0, tzinfo=UTC), datetime(2024, 5, 3, 0, 30, tzinfo=UTC)
    )
    add_incident(db, blog, NOW - timedelta(hours=1), None, "dns")
    return shop, blog


def links(page: str) -> dict[str, str]:
    return {
        fmt: href.replace("&amp;", "&")
        for href, fmt in re.findall(r'<a href="([^"]+)" download data-format="(\w+)"', page)
    }


def test_summary_for_chosen_sites_and_range(app: Flask, auth: AuthActions, client, sites) -> None:
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)
    first = client.get("/reports")
    assert first.status_code == 200
    assert "<h2>Summary</h2>" not in first.get_data(as_text=True)  # nothing asked yet

    page = client.get("/reports?from=2024-05-01&to=2024-05-04&site=shop&site=blog").get_data(
        as_text=True
    )
    rows = re.findall(r'<tr data-site="(\w+)">(.*?)</tr>', page, re.S)
    assert [slug for slug, _ in rows] == ["blog", "shop"]
    blog = dict(rows)["blog"]
    nums = re.findall(r'<td class="num">(.*?)</td>', blog)
    # 4 days (96 h), 30 minutes down.
    assert nums[0] == f"{(1 - 0.5 / 96) * 100:.3f}".rstrip("0") + "%"
    assert nums[1] == "1" and nums[2] == "30m 0s"
    assert "2 incident rows" in page
    got = links(page)
    assert set(got) == {"csv", "excel"}
    csv_url = urlsplit(got["csv"])
    assert csv_url.path == "/reports/downtime.csv"
    assert parse_qs(csv_url.query) == {
        "from": ["2024-05-01T00:00:00Z"],
        "to": ["2024-05-05T00:00:00Z"],
        "site": ["shop", "blog"],
    }
    # The links work with the browser session, and hold what the page shows.
    response = client.get(got["csv"])
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    records = list(csv.reader(io.StringIO(text)))
    assert records[0][0] == "site_id"
    assert {r[0] for r in records[1:3]} == {"shop", "blog"}
    xlsx = client.get(got["excel"])
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert {"Summary", "Incidents"} <= set(book.sheetnames)


def test_every_site_by_default_and_quick_windows(
    app: Flask, auth: AuthActions, client, sites
) -> None:
    auth.login_as(Role.ADMIN)
    page = client.get("/reports?window=7d").get_data(as_text=True)
    assert [s for s, _ in re.findall(r'<tr data-site="(\w+)">(.*?)</tr>', page, re.S)] == [
        "api",
        "blog",
        "shop",
    ]
    assert "site=" not in links(page)["csv"]


def test_bad_input_is_said_on_the_page(app: Flask, auth: AuthActions, client, sites) -> None:
    auth.login_as(Role.ADMIN)
    response = client.get("/reports?from=2024-05-04&to=2024-05-01")
    assert response.status_code == 400 and "from must be before to" in response.get_data(
        as_text=True
    )
    response = client.get("/reports?window=7d&site=nosuch")
    assert response.status_code == 400 and "no site with id" in response.get_data(as_text=True)
