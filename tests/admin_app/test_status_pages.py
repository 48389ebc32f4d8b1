"""The status dashboard as a signed-in person sees it, with the uptime figures from
the incident log; Prometheus unreachable; the event stream's first events; who sees
which links. Live states from a real Prometheus: test_status_prometheus.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.models import Incident, Site
from admin_app.roles import Role
from tests.admin_app.conftest import AuthActions

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(app: Flask, refused_port: int) -> Flask:
    """The conftest app with a fixed clock and a Prometheus that refuses connections."""
    app.config["CLOCK"] = lambda: NOW
    app.config["PROMETHEUS_URL"] = f"http://127.0.0.1:{refused_port}"
    app.config["STATUS_STREAM_SECONDS"] = 0.3
    app.config["STATUS_STREAM_POLL"] = 0.1
    return app


def add_site(db: Session, slug: str, name: str = "", **kw: Any) -> Site:
    site = Site(
        slug=slug,
        name=name or slug.title(),
        url=f"https://{slug}.example.com/",
        created_at=kw.pop("created_at", NOW - timedelta(days=60)),
        **kw,
    )
    db.add(site)
    db.commit()
    return site


def add_incident(
    db: Session,
    site: Site,
    start: datetime,
    end: datetime | None,
    reason: str = "timeout",
    **kw: Any,
) -> Incident:
    incident = Incident(
        site_id=site.id,
        site_slug=site.slug,
        started_at=start,
        ended_at=end,
        reason=reason,
        fingerprint=f"fp-{site.slug}",
        **kw,
    )
    db.add(incident)
    db.commit()
    return incident


def row_html(page: str, slug: str) -> str:
    match = re.search(rf'<tr data-site="{re.escape(slug)}".*?</tr>', page, re.S)
    assert match, f"no row for {slug}"
    return match.group(0)


def cell(row: str, name: str) -> str:
    match = re.search(rf'data-field="{name}"[^>]*>(.*?)</', row, re.S)
    assert match, f"no {name} cell"
    return match.group(1).strip()


def test_dashboard_lists_every_site_with_uptime_from_the_incident_log(
    app: Flask, auth: AuthActions, client, db: Session
) -> None:
    shop = add_site(db, "shop", "Web shop")
    blog = add_site(db, "blog", "Blog", paused=True)
    add_site(db, "api", "API", maintenance=True)
    # 36 minutes down yesterday and 72 minutes ten days ago.
    add_incident(db, shop, NOW - timedelta(hours=6), NOW - timedelta(hours=5, minutes=24))
    add_incident(
        db, shop, NOW - timedelta(days=10), NOW - timedelta(days=10) + timedelta(minutes=72)
    )
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)

    response = client.get("/status")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    row = row_html(page, "shop")
    assert "Web shop" in row
    assert cell(row, "uptime-24h") == "97.5%"  # 36 of 1440 minutes down
    assert cell(row, "uptime-30d") == f"{(1 - 108 / 43200) * 100:.3f}".rstrip("0") + "%"
    assert cell(row, "state") == "unknown"  # Prometheus cannot be asked
    assert row.count("<rect") == 90
    assert 'class="d-major"' in row  # today's cell (from midnight: 36 of 720 min)
    assert cell(row_html(page, "blog"), "state") == "paused"
    assert cell(row_html(page, "api"), "state") == "maintenance"
    assert blog.slug in page
    # Customer Engagement has no "Server Logs": the names are not links to history.
    assert "/history/shop" not in page
    assert 'data-events="/status/events"' in page


def test_prometheus_unreachable_is_a_banner_not_an_error(
    app: Flask, auth: AuthActions, client, db: Session
) -> None:
    add_site(db, "shop")
    auth.login_as(Role.ADMIN)
    page = client.get("/status").get_data(as_text=True)
    banner = re.search(r'<p id="prom-banner"[^>]*>(.*?)</p>', page, re.S)
    assert banner and "hidden" not in banner.group(0).split(">")[0]
    assert "Prometheus unreachable" in banner.group(1)
    assert app.config["PROMETHEUS_URL"] in banner.group(1)
    assert "/history/shop" in page  # the admin may see the history


def test_filters_and_counts(app: Flask, auth: AuthActions, client, db: Session) -> None:
    for slug in ("alpha", "beta", "gamma"):
        add_site(db, slug)
    add_site(db, "off", paused=True)
    auth.login_as(Role.ADMIN)
    page = client.get("/status?state=paused").get_data(as_text=True)
    assert re.findall(r'<tr data-site="([^"]+)"', page) == ["off"]
    assert re.search(r'data-count="unknown">3<', page)
    assert re.search(r'data-count="all">4<', page)
    page = client.get("/status?q=amm").get_data(as_text=True)
    assert re.findall(r'<tr data-site="([^"]+)"', page) == ["gamma"]
    assert "No site matches" in client.get("/status?q=zzz").get_data(as_text=True)


def test_pages_of_sites(app: Flask, auth: AuthActions, client, db: Session) -> None:
    for i in range(105):
        db.add(Site(slug=f"s{i:03d}", name=f"S{i:03d}", url="https://x.example.com/"))
    db.commit()
    auth.login_as(Role.ADMIN)
    first = client.get("/status").get_data(as_text=True)
    assert len(re.findall(r"<tr data-site=", first)) == 100 and "page 1 of 2" in first
    second = client.get("/status?page=2").get_data(as_text=True)
    assert re.findall(r'<tr data-site="([^"]+)"', second) == [f"s{i}" for i in range(100, 105)]


def _stream(client, path: str = "/status/events") -> Iterator[str]:
    response = client.get(path, buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    try:
        for chunk in response.response:
            yield chunk.decode() if isinstance(chunk, bytes) else chunk
    finally:
        response.close()


def test_event_stream_sends_a_snapshot_and_ends(
    app: Flask, auth: AuthActions, client, db: Session
) -> None:
    add_site(db, "shop", "Web shop")
    auth.login_as(Role.FLEXIPAY_SUPPORT)
    chunks = list(_stream(client))
    assert chunks[0].startswith("retry: ")
    snapshot = chunks[1].split("\n")
    assert snapshot[0] == "event: snapshot"
    data = json.loads(snapshot[1].removeprefix("data: "))
    assert data["sites"]["shop"]["state"] == "unknown"
    assert data["names"] == {"shop": "Web shop"}
    assert data["prometheus"]["ok"] is False
    assert chunks[-1].startswith("event: bye")  # the stream's lifetime is bounded


def test_event_stream_needs_the_status_permission(app: Flask, client) -> None:
    response = client.get("/status/events")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_home_page_goes_to_the_dashboard(app: Flask, auth: AuthActions, client) -> None:
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/status")
    nav = client.get("/status").get_data(as_text=True)
    for label in ("Status", "Alerts", "Reports"):
        assert f">{label}</a>" in nav
    assert ">History</a>" not in nav  # no Server Logs
    assert ">API docs</a>" not in nav  # no API Access
