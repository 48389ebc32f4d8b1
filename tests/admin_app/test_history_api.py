"""The history API on SQLite and PostgreSQL: a site's intervals, its uptime figures
and the paginated incident log, as a client sees them; bad parameters answered with
400 naming the parameter; Prometheus out of reach never turns into a 500.

(401/403 by role: tests/admin_app/test_rbac_matrix.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.models import Incident, Site
from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS
from tests.servers import free_port

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
_fingerprints = iter(range(1, 10**9))


def ts(hours_before_now: float) -> datetime:
    return NOW - timedelta(hours=hours_before_now)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_site(db: Session, slug: str, name: str = "", created_days_ago: float = 365) -> Site:
    site = Site(
        slug=slug,
        name=name or slug.title(),
        url=f"https://{slug}.example.com/",
        created_at=NOW - timedelta(days=created_days_ago),
    )
    db.add(site)
    db.commit()
    return site


def add_incident(
    db: Session,
    site: Site | str,
    start: datetime,
    end: datetime | None,
    reason: str = "timeout",
    maintenance: bool = False,
) -> Incident:
    slug = site if isinstance(site, str) else site.slug
    incident = Incident(
        site_id=None if isinstance(site, str) else site.id,
        site_slug=slug,
        started_at=start,
        ended_at=end,
        reason=reason,
        maintenance=maintenance,
        fingerprint=f"fp{next(_fingerprints)}",
    )
    db.add(incident)
    db.commit()
    return incident


def fix_clock(app: Flask, now: datetime = NOW, prometheus: str | None = None) -> None:
    app.config["CLOCK"] = lambda: now
    # nothing listens there: connection refused (unless a test gives a real one)
    app.config["PROMETHEUS_URL"] = prometheus or f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def admin(api, app):
    fix_clock(app)
    return api.as_role(Role.ADMIN, "boss")


@pytest.fixture
def shop(db):
    """A site with: an outage straddling the 24h edge (2h, 1h of it inside), a
    duplicate of a 30 min outage, an outage during maintenance, one still open."""
    site = add_site(db, "shop", "Web shop")
    add_incident(db, site, ts(25), ts(23), "timeout")
    add_incident(db, site, ts(10), ts(9.5), "dns")
    add_incident(db, site, ts(10), ts(9.5), "dns")  # a retried webhook's duplicate
    add_incident(db, site, ts(9.75), ts(9.25), "connect")  # overlaps the one above
    add_incident(db, site, ts(6), ts(5), "deploy", maintenance=True)
    add_incident(db, site, ts(0.25), None, "status")
    add_incident(db, site, ts(48), ts(47), "old")  # outside the last 24h
    return site


# --------------------------------------------------------------------------- history


def test_history_intervals(admin, shop) -> None:
    r = admin.get("/api/v1/sites/shop/history")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["site"] == {"id": "shop", "name": "Web shop"}
    assert (body["from"], body["to"], body["now"]) == (iso(ts(24)), iso(NOW), iso(NOW))
    assert [
        (i["state"], i["start"], i["end"], i["duration_seconds"], i["reason"])
        for i in body["intervals"]
    ] == [
        ("down", iso(ts(24)), iso(ts(23)), 3600.0, "timeout"),
        ("up", iso(ts(23)), iso(ts(10)), 13 * 3600.0, ""),
        ("down", iso(ts(10)), iso(ts(9.25)), 2700.0, "dns, connect"),
        ("up", iso(ts(9.25)), iso(ts(6)), 3.25 * 3600, ""),
        ("maintenance", iso(ts(6)), iso(ts(5)), 3600.0, "deploy"),
        ("up", iso(ts(5)), iso(ts(0.25)), 4.75 * 3600, ""),
        ("down", iso(ts(0.25)), iso(NOW), 900.0, "status"),
    ]


def test_history_range_with_offsets_and_future_end(admin, shop) -> None:
    # 2024-05-10T00:00:00+02:00 is 22:00Z the day before; the end is cut at now.
    r = admin.get(
        "/api/v1/sites/shop/history?from=2024-05-10T00:00:00%2B02:00&to=2024-05-11T00:00:00Z"
    )
    assert r.status_code == 200, r.json
    body = r.json
    assert body["from"] == "2024-05-09T22:00:00Z" and body["to"] == iso(NOW)
    assert body["requested"] == {"from": "2024-05-09T22:00:00Z", "to": "2024-05-11T00:00:00Z"}
    assert body["intervals"][0]["start"] == "2024-05-09T22:00:00Z"
    assert body["intervals"][-1]["end"] == iso(NOW)


def test_history_starts_when_the_site_was_added(admin, db) -> None:
    add_site(db, "new", created_days_ago=0.5)
    body = admin.get("/api/v1/sites/new/history").json
    assert body["from"] == iso(ts(12)) and body["requested"]["from"] == iso(ts(24))
    assert [(i["state"], i["duration_seconds"]) for i in body["intervals"]] == [("up", 12 * 3600.0)]


def test_history_of_a_deleted_site_and_unknown_site(admin, db) -> None:
    add_incident(db, "gone", ts(3), ts(2), "dns")
    body = admin.get("/api/v1/sites/gone/history").json
    assert body["site"] == {"id": "gone", "name": "gone"}
    assert [i["state"] for i in body["intervals"]] == ["up", "down", "up"]
    missing = admin.get("/api/v1/sites/nope/history")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert admin.get("/api/v1/sites/nope/uptime").status_code == 404


# --------------------------------------------------------------------------- uptime


def test_uptime_last_24h(admin, shop) -> None:
    r = admin.get("/api/v1/sites/shop/uptime?window=24h")
    assert r.status_code == 200, r.json
    body = r.json
    down = 3600 + 2700 + 900
    assert body["window"] == "24h"
    assert body["incidents"] == 3
    assert body["downtime_seconds"] == down
    assert body["maintenance_seconds"] == 3600
    assert body["monitored_seconds"] == 23 * 3600
    assert body["uptime_percent"] == pytest.approx((23 * 3600 - down) / (23 * 3600) * 100)
    assert body["mttr_seconds"] == down / 3
    assert body["longest_outage_seconds"] == 3600
    # Prometheus cannot be reached: the figures above all the same, latency null
    assert body["response_time_seconds"] == {"p50": None, "p95": None, "p99": None}
    assert len(body["warnings"]) == 1 and "Prometheus" in body["warnings"][0]


def test_uptime_windows_and_ranges(admin, shop) -> None:
    week = admin.get("/api/v1/sites/shop/uptime?window=7d").json
    assert week["from"] == iso(NOW - timedelta(days=7)) and week["incidents"] == 4
    assert week["downtime_seconds"] == 2 * 3600 + 2700 + 900 + 3600
    ranged = admin.get(f"/api/v1/sites/shop/uptime?from={iso(ts(48))}&to={iso(ts(24))}").json
    assert ranged["window"] is None
    assert ranged["incidents"] == 2 and ranged["downtime_seconds"] == 3600 + 3600
    default = admin.get("/api/v1/sites/shop/uptime").json
    assert default["from"] == iso(ts(24)) and default["incidents"] == 3


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("window=1y", "window"),
        ("window=", "window"),
        ("window=7d&from=2024-05-01T00:00:00Z", "window"),
        ("from=2024-05-01T00:00:00", "from"),
        ("from=not-a-date", "from"),
        ("to=2024-05-01", "to"),
        ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "from"),
        ("from=2024-05-01T00:00:00Z&from=2024-05-02T00:00:00Z", "from"),
    ],
)
def test_uptime_bad_parameters(admin, shop, query: str, param: str) -> None:
    r = admin.get(f"/api/v1/sites/shop/uptime?{query}")
    assert r.status_code == 400, r.json
    error = r.json["error"]
    assert error["code"] == "invalid_parameter" and list(error["fields"]) == [param]
    assert error["message"].startswith(f"{param}: ")


def test_history_bad_parameters(admin, shop) -> None:
    r = admin.get("/api/v1/sites/shop/history?to=yesterday")
    assert r.status_code == 400 and r.json["error"]["fields"].keys() == {"to"}
    # history takes a range only, not a window: an unknown parameter is ignored
    assert admin.get("/api/v1/sites/shop/history?window=7d").status_code == 200


# --------------------------------------------------------------------------- incidents


def test_incidents_newest_first_with_a_stable_cursor(admin, db) -> None:
    shop = add_site(db, "shop")
    blog = add_site(db, "blog")
    for i in range(12):
        add_incident(db, shop if i % 2 else blog, ts(100 - i), ts(99.5 - i), f"r{i}")
    # two incidents starting at the same instant: ordered by id
    twin_a = add_incident(db, shop, ts(50), ts(49), "twin")
    twin_b = add_incident(db, blog, ts(50), None, "twin")

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        path = "/api/v1/incidents?limit=5" + (f"&cursor={cursor}" if cursor else "")
        r = admin.get(path)
        assert r.status_code == 200, r.json
        if pages == 0:
            # a new incident recorded while paging moves nothing on later pages
            add_incident(db, shop, NOW - timedelta(minutes=1), None, "newest")
        seen += [i["id"] for i in r.json["incidents"]]
        pages += 1
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 14 and len(set(seen)) == 14
    assert seen[:2] == [twin_b.id, twin_a.id]

    everything = admin.get("/api/v1/incidents?limit=1000").json
    assert everything["next_cursor"] is None
    starts = [i["started_at"] for i in everything["incidents"]]
    assert starts == sorted(starts, reverse=True)
    first = everything["incidents"][0]
    assert first["reason"] == "newest" and first["status"] == "open"
    assert first["ended_at"] is None and first["duration_seconds"] == 60.0
    assert first["site"] == {"id": "shop", "name": "Shop"}


def test_incident_filters(admin, db) -> None:
    shop = add_site(db, "shop")
    blog = add_site(db, "blog")
    add_incident(db, shop, ts(30), ts(29))
    add_incident(db, shop, ts(5), None)
    add_incident(db, blog, ts(20), ts(19), maintenance=True)
    add_incident(db, "gone", ts(10), ts(9))

    def ids(query: str) -> list[tuple[str, str]]:
        r = admin.get(f"/api/v1/incidents?{query}")
        assert r.status_code == 200, r.json
        return [(i["site"]["id"], i["started_at"]) for i in r.json["incidents"]]

    assert ids("site=shop") == [("shop", iso(ts(5))), ("shop", iso(ts(30)))]
    assert ids("site=blog&site=gone") == [("gone", iso(ts(10))), ("blog", iso(ts(20)))]
    assert ids("site=blog,gone") == ids("site=blog&site=gone")
    assert ids("status=open") == [("shop", iso(ts(5)))]
    assert len(ids("status=closed")) == 3
    # overlapping the range: the open one, and the one that ended inside it
    assert ids(f"from={iso(ts(9.5))}") == [("shop", iso(ts(5))), ("gone", iso(ts(10)))]
    assert ids(f"to={iso(ts(20))}") == [("shop", iso(ts(30)))]
    gone = admin.get("/api/v1/incidents?site=gone").json["incidents"][0]
    assert gone["site"] == {"id": "gone", "name": None}
    blog_row = admin.get("/api/v1/incidents?site=blog").json["incidents"][0]
    assert blog_row["maintenance"] is True and blog_row["duration_seconds"] == 3600.0


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("status=pending", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
        ("from=2024-05-01T00:00", "from"),
        ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "from"),
        ("site=", "site"),
    ],
)
def test_incidents_bad_parameters(admin, query: str, param: str) -> None:
    r = admin.get(f"/api/v1/incidents?{query}")
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "invalid_parameter"
    assert list(r.json["error"]["fields"]) == [param]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/sites/shop/uptime?to=0001-01-01T00:00:00Z", "to"),
        ("/api/v1/sites/shop/history?to=0001-01-01T01:00:00%2B00:00", "to"),
        (
            "/api/v1/incidents?cursor=WyIyMDI0LTA1LTEwVDExOjAwOjAwWiIsMTE4MDU5MTYyMDcxNzQxMTMwMzQyNF0",
            "cursor",
        ),
        ("/api/v1/incidents?cursor=WyIyMDI0LTA1LTEwVDExOjAwOjAwWiIsLTFd", "cursor"),
    ],
)
def test_extreme_values_are_400_not_500(admin, shop, path: str, param: str) -> None:
    r = admin.get(path)
    assert r.status_code == 400, r.json
    assert list(r.json["error"]["fields"]) == [param]


def test_the_whole_calendar_is_a_valid_range(admin, shop) -> None:
    r = admin.get("/api/v1/sites/shop/uptime?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z")
    assert r.status_code == 200, r.json
    assert r.json["to"] == iso(NOW) and r.json["incidents"] == 4
