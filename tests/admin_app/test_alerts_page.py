"""The alerts page: the recent down and up events from the incident log, with who
was told and how (the Notification rows the alert path writes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.alerts.events import recent_events
from admin_app.models import Contact, Notification
from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS, AuthActions
from tests.admin_app.test_status_pages import add_incident, add_site

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(app: Flask) -> Flask:
    app.config["CLOCK"] = lambda: NOW
    return app


def notify(
    db: Session, incident, event: str, channel: str, to: str, status: str, error: str = ""
) -> None:
    db.add(
        Notification(
            incident_id=incident.id,
            dedup_key=f"{incident.id}-{event}-{channel}-{to}",
            event=event,
            channel=channel,
            recipient=to,
            status=status,
            error=error,
            attempts=1 if channel == "sms" else 0,
            created_at=incident.started_at if event == "down" else incident.ended_at,
        )
    )
    db.commit()


@pytest.fixture
def history(db: Session):
    shop = add_site(db, "shop", "Web shop")
    quiet = add_site(db, "quiet", "Quiet site")
    db.add_all(
        [
            Contact(name="Ann", email="ann@example.com", phone="+15551230001", wants_sms=True),
            Contact(name="Bob", phone="+15551230002", wants_email=False, wants_sms=True),
        ]
    )
    db.commit()
    closed = add_incident(
        db,
        shop,
        NOW - timedelta(hours=3),
        NOW - timedelta(hours=2, minutes=55, seconds=48),
        "status",
    )
    notify(db, closed, "down", "sms", "+15551230001", "sent")
    notify(db, closed, "down", "email", "ann@example.com", "routed")
    notify(db, closed, "down", "sms", "+15551230002", "failed", "21211: invalid 'To' +15551230002")
    notify(db, closed, "up", "sms", "+15551230001", "sent")
    add_incident(db, shop, NOW - timedelta(minutes=10), None, "timeout")
    add_incident(db, quiet, NOW - timedelta(hours=1), NOW - timedelta(minutes=30), maintenance=True)
    old = add_incident(
        db, quiet, NOW - timedelta(days=20), NOW - timedelta(days=20) + timedelta(minutes=5)
    )
    return {"shop": shop, "quiet": quiet, "closed": closed, "old": old}


def rows(page: str) -> list[str]:
    return re.findall(r'<tr class="event-.*?</tr>', page, re.S)


def test_recent_events_newest_first_with_who_was_told(db: Session, history) -> None:
    events = recent_events(db, NOW - timedelta(days=7))
    assert [(e.site_slug, e.kind) for e in events] == [
        ("shop", "down"),  # 10 minutes ago, still open
        ("quiet", "up"),
        ("quiet", "down"),
        ("shop", "up"),
        ("shop", "down"),
    ]
    up = events[3]
    assert up.down_for == timedelta(minutes=4, seconds=12)
    assert [(t.who, t.text) for t in up.told] == [("Ann", "SMS sent")]
    down = events[4]
    told = {(t.who, t.channel, t.status) for t in down.told}
    assert told == {
        ("Ann", "sms", "sent"),
        ("Ann", "email", "routed"),
        ("Bob", "sms", "failed"),
    }
    failed = next(t for t in down.told if t.status == "failed")
    assert "+15551230002" not in failed.to and "+15551230002" not in failed.error  # masked
    assert events[2].quiet  # maintenance: nobody paged


def test_alerts_page(app: Flask, auth: AuthActions, client, history) -> None:
    auth.login_as(Role.FLEXIPAY_SUPPORT)
    response = client.get("/alerts")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = rows(page)
    assert len(found) == 5
    first_up = next(r for r in found if 'data-kind="up"' in r and 'data-site="shop"' in r)
    assert "UP" in first_up and "after 4m 12s" in first_up
    down = [r for r in found if 'data-kind="down"' in r and 'data-site="shop"' in r][-1]
    assert "SMS sent: Ann" in down and "email routed: Ann" in down
    assert "SMS failed: Bob" in down and "21211" in down
    assert "+15551230002" not in page
    quiet = next(r for r in found if 'data-site="quiet"' in r and 'data-kind="down"' in r)
    assert "nobody: in maintenance" in quiet
    # Flexipay Support has no Server Logs: no links to history.
    assert "/history/" not in page


def test_alerts_filters(app: Flask, auth: AuthActions, client, history) -> None:
    auth.login_as(Role.ADMIN)
    page = client.get("/alerts?site=quiet&days=30").get_data(as_text=True)
    assert len(rows(page)) == 4 and 'data-site="shop"' not in page
    page = client.get("/alerts?kind=up").get_data(as_text=True)
    assert {re.search(r'data-kind="(\w+)"', r).group(1) for r in rows(page)} == {"up"}
    assert "/history/shop" in page
    empty = client.get("/alerts?site=nosuch").get_data(as_text=True)
    assert "No down or up events" in empty
    assert client.get("/alerts?days=abc").status_code == 200
