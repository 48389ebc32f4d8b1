"""The downtime reports on SQLite and PostgreSQL: the CSV and the Excel file as a
user opens them, their figures equal to the uptime endpoint's, streaming, the site
filter, the browser download, and bad parameters named.

(401/403 by role: tests/admin_app/test_rbac_matrix.py.)
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS
from tests.admin_app.test_history_api import NOW, add_incident, add_site, fix_clock, iso, ts

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

FROM, TO = ts(24), NOW
RANGE = f"from={iso(FROM)}&to={iso(TO)}"


@pytest.fixture
def admin(api, app):
    fix_clock(app)
    return api.as_role(Role.ADMIN, "boss")


@pytest.fixture
def history(db):
    """Three sites: ``shop`` with an edge-straddling outage, a duplicate, a
    maintenance outage and an open one; ``blog`` with one outage; ``api`` none."""
    shop = add_site(db, "shop", "Web shop")
    blog = add_site(db, "blog", '=HYPERLINK("http://x")')
    add_site(db, "api", "API")
    add_incident(db, shop, ts(25), ts(23), "timeout")
    add_incident(db, shop, ts(10), ts(9.5), "dns")
    add_incident(db, shop, ts(10), ts(9.5), "dns")
    add_incident(db, shop, ts(6), ts(5), "deploy", maintenance=True)
    add_incident(db, shop, ts(0.25), None, "status")
    add_incident(db, blog, ts(3), ts(2.5), "-connect")
    add_incident(db, blog, ts(30), ts(29), "before the range")


def sections(text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    incidents, _, summary = text.partition("\r\n\r\n")
    return list(csv.DictReader(io.StringIO(incidents))), list(csv.DictReader(io.StringIO(summary)))


def test_csv_report(admin, history) -> None:
    r = admin.get(f"/api/v1/reports/downtime.csv?{RANGE}")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.is_streamed
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="upwatch-downtime-20240509T120000Z-20240510T120000Z.csv"'
    )
    incidents, summary = sections(r.get_data(as_text=True))
    assert [
        (
            i["site_id"],
            i["site_name"],
            i["start"],
            i["end"],
            i["duration_seconds"],
            i["in_range_seconds"],
            i["reason"],
            i["maintenance"],
            i["status"],
        )
        for i in incidents
    ] == [
        ("blog", "'=HYPERLINK(\"http://x\")", iso(ts(3)), iso(ts(2.5)), "1800", "1800",
         "'-connect", "false", "closed"),
        ("shop", "Web shop", iso(ts(25)), iso(ts(23)), "7200", "3600", "timeout", "false",
         "closed"),
        ("shop", "Web shop", iso(ts(10)), iso(ts(9.5)), "1800", "1800", "dns", "false",
         "closed"),
        ("shop", "Web shop", iso(ts(6)), iso(ts(5)), "3600", "3600", "deploy", "true",
         "closed"),
        ("shop", "Web shop", iso(ts(0.25)), "", "900", "900", "status", "false", "open"),
    ]  # fmt: skip
    by_site = {s["site_id"]: s for s in summary}
    assert list(by_site) == ["api", "blog", "shop"]
    assert by_site["api"]["uptime_percent"] == "100.0" and by_site["api"]["incidents"] == "0"
    assert by_site["api"]["mttr_seconds"] == "" and by_site["api"]["downtime_seconds"] == "0"
    shop = by_site["shop"]
    assert (shop["from"], shop["to"]) == (iso(FROM), iso(TO))
    assert shop["incidents"] == "3" and shop["downtime_seconds"] == str(3600 + 1800 + 900)
    assert shop["maintenance_seconds"] == "3600" and shop["monitored_seconds"] == str(23 * 3600)
    assert shop["mttr_seconds"] == str((3600 + 1800 + 900) // 3)
    assert shop["longest_outage_seconds"] == "3600"
    assert float(shop["uptime_percent"]) == (23 * 3600 - 6300) / (23 * 3600) * 100


def test_report_figures_are_the_uptime_endpoints(admin, history) -> None:
    _, summary = sections(admin.get(f"/api/v1/reports/downtime.csv?{RANGE}").get_data(as_text=True))
    for row in summary:
        api = admin.get(f"/api/v1/sites/{row['site_id']}/uptime?{RANGE}").json
        assert float(row["uptime_percent"]) == api["uptime_percent"]
        assert int(row["incidents"]) == api["incidents"]
        assert float(row["downtime_seconds"]) == api["downtime_seconds"]
        assert float(row["mttr_seconds"] or "nan") == pytest.approx(
            api["mttr_seconds"] if api["mttr_seconds"] is not None else float("nan"), nan_ok=True
        )


def test_csv_parts_sites_and_defaults(admin, history) -> None:
    only = admin.get(f"/api/v1/reports/downtime.csv?{RANGE}&part=incidents&site=blog")
    rows = list(csv.DictReader(io.StringIO(only.get_data(as_text=True))))
    assert [r["site_id"] for r in rows] == ["blog"]
    summary = admin.get(f"/api/v1/reports/downtime.csv?{RANGE}&part=summary&site=shop,api")
    rows = list(csv.DictReader(io.StringIO(summary.get_data(as_text=True))))
    assert [r["site_id"] for r in rows] == ["api", "shop"]
    # default: the last 30 days, every site
    default = admin.get("/api/v1/reports/downtime.csv?part=summary")
    rows = list(csv.DictReader(io.StringIO(default.get_data(as_text=True))))
    assert [r["from"] for r in rows] == [iso(NOW - timedelta(days=30))] * 3
    assert {r["site_id"]: r["incidents"] for r in rows} == {"api": "0", "blog": "2", "shop": "3"}


def test_xlsx_report(admin, history, tmp_path) -> None:
    r = admin.get(f"/api/v1/reports/downtime.xlsx?{RANGE}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert r.headers["Content-Disposition"].endswith('.xlsx"')
    data = r.get_data()
    assert int(r.headers["Content-Length"]) == len(data)
    path = tmp_path / "report.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Incidents"]

    inc = wb["Incidents"]
    header = [c.value for c in inc[1]]
    assert header[:4] == ["Site ID", "Site name", "Start (UTC)", "End (UTC)"]
    assert all(c.font.bold for c in inc[1])
    assert inc.freeze_panes == "A2" and inc.auto_filter.ref == "A1:J6"
    rows = list(inc.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 5
    blog = rows[0]
    assert blog[:2] == ("blog", '=HYPERLINK("http://x")')  # text, never a formula
    assert inc["B2"].data_type == "s"
    assert blog[2] == datetime(2024, 5, 10, 9, 0) and blog[3] == datetime(2024, 5, 10, 9, 30)
    assert inc["C2"].is_date and inc["C2"].number_format == "yyyy-mm-dd h:mm:ss"
    assert inc["F2"].number_format == "[hh]:mm:ss"
    assert blog[4] == 1800 and blog[5] == timedelta(minutes=30) and blog[6] == 1800
    assert blog[7:] == ("-connect", False, "closed")
    open_row = rows[-1]
    assert open_row[3] is None and open_row[4] == 900 and open_row[9] == "open"
    # widths fit the longest value of each column
    for column, values in zip(
        "ABH", ([r[0] for r in rows], [r[1] for r in rows], [r[7] for r in rows]), strict=True
    ):
        assert inc.column_dimensions[column].width >= max(len(str(v)) for v in values)

    summary = wb["Summary"]
    assert [c.value for c in summary[1]][:6] == [
        "Site ID", "Site name", "From (UTC)", "To (UTC)", "Uptime (%)", "Incidents",
    ]  # fmt: skip
    srows = {row[0]: row for row in summary.iter_rows(min_row=2, values_only=True)}
    assert list(srows) == ["api", "blog", "shop"]
    shop = srows["shop"]
    assert shop[2] == FROM.replace(tzinfo=None) and shop[3] == TO.replace(tzinfo=None)
    assert shop[4] == pytest.approx((23 * 3600 - 6300) / (23 * 3600) * 100, abs=1e-9)
    assert shop[5] == 3 and shop[6] == 6300 and shop[8] == 3600
    assert srows["api"][4] == 100 and srows["api"][10] is None


def test_browser_download_with_a_session(auth, app, history) -> None:
    fix_clock(app)
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)  # Reports, but no API access
    r = auth.client.get(f"/reports/downtime.csv?{RANGE}&part=summary")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    assert "shop,Web shop" in r.get_data(as_text=True)
    x = auth.client.get(f"/reports/downtime.xlsx?{RANGE}&site=blog")
    assert x.status_code == 200 and x.get_data()[:2] == b"PK"
    bad = auth.client.get("/reports/downtime.csv?from=tomorrow")
    assert bad.status_code == 400 and "from" in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("site=nope", "site"),
        ("site=shop&site=", "site"),
        ("from=2024-05-01", "from"),
        ("to=garbage", "to"),
        ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "from"),
        ("part=everything", "part"),
    ],
)
def test_report_bad_parameters(admin, history, query: str, param: str) -> None:
    for ext in ("csv", "xlsx"):
        if param == "part" and ext == "xlsx":
            continue
        r = admin.get(f"/api/v1/reports/downtime.{ext}?{query}")
        assert r.status_code == 400, (ext, r.get_data(as_text=True))
        assert r.json["error"]["code"] == "invalid_parameter"
        assert list(r.json["error"]["fields"]) == [param]


def test_empty_database(admin) -> None:
    r = admin.get("/api/v1/reports/downtime.csv")
    incidents, summary = sections(r.get_data(as_text=True))
    assert incidents == [] and summary == []
    x = admin.get("/api/v1/reports/downtime.xlsx")
    assert x.status_code == 200


def test_report_range_in_the_future_and_before_a_site(admin, db) -> None:
    add_site(db, "late", created_days_ago=0.5)
    future = f"from={iso(NOW + timedelta(days=1))}&to={iso(NOW + timedelta(days=2))}"
    r = admin.get(f"/api/v1/reports/downtime.csv?{future}&part=summary")
    (row,) = csv.DictReader(io.StringIO(r.get_data(as_text=True)))
    assert row["uptime_percent"] == "" and row["monitored_seconds"] == "0"
    r = admin.get(f"/api/v1/reports/downtime.csv?{RANGE}&part=summary")
    (row,) = csv.DictReader(io.StringIO(r.get_data(as_text=True)))
    assert row["from"] == iso(ts(12)) and row["monitored_seconds"] == str(12 * 3600)
    assert datetime.fromisoformat(row["to"]) == NOW.astimezone(UTC)


def test_a_streamed_report_gives_its_connection_back(admin, app) -> None:
    """The CSV is read after the request has ended: its database connection must
    go back to the pool when the download ends, or when the client goes away.
    (No ``db`` fixture here: its app context would keep the request's own session
    open until the test ends.)"""
    from admin_app.db import get_database, session_scope

    with app.app_context(), session_scope(app) as session:
        add_incident(session, add_site(session, "shop"), ts(3), ts(2))
    pool = get_database(app).engine.pool
    path = f"/api/v1/reports/downtime.csv?{RANGE}"
    r = admin.get(path)
    assert pool.checkedout() == 1  # streaming: the report's session is in use
    assert b"shop" in r.get_data() and pool.checkedout() == 0
    gone = admin.client.get(path, headers=admin._headers(), buffered=False)
    next(iter(gone.response))
    gone.close()
    assert pool.checkedout() == 0
