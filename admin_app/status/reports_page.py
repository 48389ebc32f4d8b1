"""The reports page (``/reports``, "Reports"): choose a range and sites, see the
summary per site, download the downtime report as CSV or Excel. The figures are the
reports module's (:class:`admin_app.reports.data.DowntimeReport`), the downloads
its browser URLs (``/reports/downtime.csv|.xlsx``)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from admin_app.db import get_session
from admin_app.history.params import now
from admin_app.history.store import sites_by_slug
from admin_app.models import Site
from admin_app.rbac import requires
from admin_app.reports.data import DowntimeReport, SiteSummary
from admin_app.roles import Feature
from admin_app.status.bars import format_duration, format_percent
from admin_app.status.ranges import QUICK_WINDOWS, RangeError, page_range

bp = Blueprint("reports_page", __name__)

DEFAULT_WINDOW = "30d"
DOWNLOADS = (("CSV", "reports.downtime_csv"), ("Excel", "reports.downtime_xlsx"))


def browser_url(endpoint: str) -> str | None:
    """The path of ``endpoint``'s rule that is not under ``/api/`` (the downloads
    have one rule for tokens and one for the browser session)."""
    for rule in current_app.url_map.iter_rules(endpoint) if _has(endpoint) else ():
        if not rule.rule.startswith("/api/"):
            return request.script_root + rule.rule
    return None


def _has(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


@bp.route("/reports")
@requires(Feature.REPORTS)
def index() -> tuple[str, int]:
    session = get_session()
    current = now()
    all_sites = sorted(
        session.execute(select(Site.slug, Site.name)).all(),
        key=lambda r: ((r.name or r.slug).lower(), r.slug),
    )
    chosen = [s for s in request.args.getlist("site") if s]
    submitted = bool(request.args)
    error = None
    try:
        rng = page_range(request.args, current, DEFAULT_WINDOW)
    except RangeError as exc:
        error = str(exc)
        rng = page_range({}, current, DEFAULT_WINDOW)
    summaries: list[SiteSummary] = []
    incident_rows = 0
    if submitted and error is None:
        refs, missing = sites_by_slug(session, chosen or None)
        if missing:
            error = "no site with id " + ", ".join(repr(m) for m in missing)
        else:
            report = DowntimeReport(
                session, refs, rng.start, rng.end, current, all_sites=not chosen
            )
            for _row in report.rows():
                incident_rows += 1
            summaries = report.summaries
    query = list(rng.query().items()) + [("site", s) for s in chosen]
    downloads = []
    for label, endpoint in DOWNLOADS:
        path = browser_url(endpoint)
        if path:
            downloads.append((label, f"{path}?{urlencode(query)}"))
    page = render_template(
        "reports_page/index.html",
        sites=all_sites,
        chosen=set(chosen),
        rng=rng,
        quick=QUICK_WINDOWS,
        submitted=submitted,
        error=error,
        summaries=summaries,
        incident_rows=incident_rows,
        downloads=downloads,
        pct=format_percent,
        duration=format_duration,
    )
    return page, 400 if error else 200
