"""The history pages ("Server Logs"): one site's timeline, figures and incidents over
a range, and the list of sites with the latest incidents. Same figures as the
history API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS, AuthActions
from tests.admin_app.test_alerts_page import notify
from tests.admin_app.test_status_pages import add_incident, add_site

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(app: Flask, refused_port: int) -> Flask:
    app.config["CLOCK"] = lambda: NOW
    app.config["PROMETHEUS_URL"] = f"http://127.0.0.1:{refused_port}"
    return app


def figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</strong>', page, re.S)
    assert match, name
    return " ".join(match.group(1).split())


def test_site_history_page(app: Flask, auth: AuthActions, client, db: Session, api) -> None:
    shop = add_site(db, "shop", "Web shop")
    a = add_incident(db, shop, NOW - timedelta(hours=5), NOW - timedelta(hours=4), "status")
    add_incident(db, shop, NOW - timedelta(hours=2), NOW - timedelta(hours=1, minutes=30), "dns")
    add_incident(db, shop, NOW - timedelta(days=3), NOW - timedelta(days=3) + timedelta(hours=1))
    notify(db, a, "down", "sms", "+15551230001", "sent")
    auth.login_as(Role.IT_STAFF)

    response = client.get("/history/shop")  # default: the last 24 hours
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert figure(page, "uptime") == "93.75%"  # 90 minutes of 24 hours
    assert figure(page, "incidents") == "2"
    assert figure(page, "downtime") == "1h 30m"
    assert figure(page, "mttr") == "45m 0s"
    assert figure(page, "longest") == "1h 0m"
    assert figure(page, "latency") == " / ".join(["\u2013"] * 3)
    assert "could not be queried" in page  # Prometheus is down: said, not a failure
    assert page.count('class="seg-down"') == 2
    assert len(re.findall(r"<tr data-incident=", page)) == 2
    assert "1 SMS sent" in page
    # The same figures as the API.
    uptime = api.as_role(Role.ADMIN).get("/api/v1/sites/shop/uptime?window=24h").json
    assert uptime["uptime_percent"] == 93.75 and uptime["incidents"] == 2

    week = client.get("/history/shop?window=7d").get_data(as_text=True)
    assert figure(week, "incidents") == "3"
    days = client.get("/history/shop?from=2024-05-07&to=2024-05-07").get_data(as_text=True)
    assert figure(days, "incidents") == "1" and figure(days, "downtime") == "1h 0m"
    assert 'value="2024-05-07"' in days


def test_bad_range_and_unknown_site(app: Flask, auth: AuthActions, client, db: Session) -> None:
    add_site(db, "shop")
    auth.login_as(Role.ADMIN)
    response = client.get("/history/shop?from=2024-05-09&to=2024-05-01")
    assert response.status_code == 400
    assert "from must be before to" in response.get_data(as_text=True)
    assert client.get("/history/nosuch").status_code == 404


def test_history_needs_server_logs(app: Flask, auth: AuthActions, client, db: Session) -> None:
    add_site(db, "shop")
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)
    assert client.get("/history/shop").status_code == 403
    assert client.get("/history").status_code == 403


def test_history_index(app: Flask, auth: AuthActions, client, db: Session) -> None:
    shop = add_site(db, "shop", "Web shop")
    add_site(db, "blog", "Blog")
    add_incident(db, shop, NOW - timedelta(minutes=5), None, "timeout")
    auth.login_as(Role.EBANKING_SUPPORT)
    page = client.get("/history").get_data(as_text=True)
    assert "/history/shop" in page and "/history/blog" in page
    assert "incident open" in page and "timeout" in page
