"""Downloading the downtime report: the same code for the API (bearer token,
``/api/v1/reports/downtime.csv|.xlsx``) and for the browser (session,
``/reports/downtime.csv|.xlsx``); both need the "Reports" permission."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO

from flask import Response, request
from sqlalchemy.orm import Session

from admin_app.db import get_database, get_session
from admin_app.history.params import InvalidParameter, choice_param, now, site_params, time_range
from admin_app.history.store import sites_by_slug
from admin_app.rbac import requires
from admin_app.reports import bp
from admin_app.reports.data import DowntimeReport
from admin_app.reports.formats import csv_report, xlsx_report
from admin_app.roles import Feature

DEFAULT_SPAN = timedelta(days=30)
FILE_CHUNK = 64 * 1024


def build_report(session: Session | None = None) -> DowntimeReport:
    """The report the query asks for: ``from``/``to`` (default: the last 30 days),
    ``site`` (repeatable; default: every site). It reads the incident log through
    ``session`` (default: the request's)."""
    args = request.args
    current = now()
    requested = time_range(args, current, DEFAULT_SPAN)
    slugs = site_params(args)
    sites, missing = sites_by_slug(get_session(), slugs or None)
    if missing:
        raise InvalidParameter("site", f"no site with id {', '.join(map(repr, missing))}")
    return DowntimeReport(
        session or get_session(),
        sites,
        requested.start,
        requested.end,
        current,
        all_sites=not slugs,
    )


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _filename(report: DowntimeReport, extension: str) -> str:
    return f"upwatch-downtime-{_stamp(report.start)}-{_stamp(report.end)}.{extension}"


def _attachment(report: DowntimeReport, extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{_filename(report, extension)}"',
        "Cache-Control": "no-store",
    }


def _send_file(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        handle.seek(0)
        while chunk := handle.read(FILE_CHUNK):
            yield chunk
    finally:
        handle.close()


def _stream(pieces: Iterator[bytes], session: Session) -> Iterator[bytes]:
    try:
        yield from pieces
    finally:
        session.close()


def csv_response() -> Response:
    """The CSV, streamed. The rows are read while the response is sent, after the
    request's own session is closed, so the report has a session of its own that
    the stream closes when it ends (or when the client goes away)."""
    part = choice_param(request.args, "part", csv_report.PARTS) or "all"
    session = get_database().sessionmaker()
    try:
        report = build_report(session)
    except BaseException:
        session.close()
        raise
    return Response(
        _stream(csv_report.render(report, part), session),
        content_type=csv_report.MEDIA_TYPE,
        headers=_attachment(report, csv_report.EXTENSION),
    )


def xlsx_response() -> Response:
    report = build_report()
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _send_file, or below
    try:
        xlsx_report.render(report, handle)
        size = handle.tell()
    except BaseException:
        handle.close()
        raise
    headers = _attachment(report, xlsx_report.EXTENSION)
    headers["Content-Length"] = str(size)
    return Response(_send_file(handle), content_type=xlsx_report.MEDIA_TYPE, headers=headers)


@bp.route("/api/v1/reports/downtime.csv", methods=["GET"])
@bp.route("/reports/downtime.csv", methods=["GET"])
@requires(Feature.REPORTS)
def downtime_csv() -> Response:
    """The downtime report as CSV (streamed).

    Query: ``from``, ``to`` -- ISO 8601 with a time zone (default: the last 30
    days); ``site`` -- a site id, repeatable (``site=a&site=b`` or ``site=a,b``;
    default: every site); ``part`` -- ``all`` (default), ``incidents`` or
    ``summary``.

    The file holds the incidents, one row per outage overlapping the range
    (``site_id, site_name, start, end, duration_seconds, in_range_seconds, reason,
    maintenance, status``), then an empty line and the summary, one row per site
    (``site_id, site_name, from, to, uptime_percent, incidents, downtime_seconds,
    maintenance_seconds, monitored_seconds, mttr_seconds, longest_outage_seconds``).
    The figures are the uptime endpoint's. ``/api/v1/...`` takes a bearer token,
    ``/reports/...`` the browser session. 400 names a bad parameter or unknown site.
    """
    return csv_response()


@bp.route("/api/v1/reports/downtime.xlsx", methods=["GET"])
@bp.route("/reports/downtime.xlsx", methods=["GET"])
@requires(Feature.REPORTS)
def downtime_xlsx() -> Response:
    """The downtime report as an Excel workbook.

    Query: ``from``, ``to``, ``site`` as for the CSV. Two sheets: "Summary" (one row
    per site: uptime %, incidents, downtime, maintenance, MTTR, longest outage) and
    "Incidents" (one row per outage: site, start, end, duration, reason,
    maintenance, status), with date cells in UTC, a header row and fitting column
    widths. ``/api/v1/...`` takes a bearer token, ``/reports/...`` the browser
    session. 400 names a bad parameter or unknown site.
    """
    return xlsx_response()
