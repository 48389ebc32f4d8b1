"""The history API: a site's up/down/maintenance intervals, its uptime figures, and
the incident log, paginated. JSON with bearer tokens; "Server Logs" permission."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from admin_app.db import get_session
from admin_app.history import bp
from admin_app.history.params import (
    InvalidParameter,
    choice_param,
    int_param,
    now,
    site_params,
    time_range,
    timestamp_param,
)
from admin_app.history.serialize import (
    decode_cursor,
    encode_cursor,
    incident_json,
    range_json,
    segment_json,
    site_brief,
    summary_json,
)
from admin_app.history.sources import Stores, latency_for_range
from admin_app.history.store import find_site, incident_page_query, outage_records
from admin_app.rbac import requires
from admin_app.roles import Feature
from admin_app.uptime import analyse, effective_range

HISTORY_DEFAULT_SPAN = timedelta(hours=24)
UPTIME_DEFAULT_SPAN = timedelta(hours=24)
DEFAULT_PAGE = 100
MAX_PAGE = 1000


@bp.route("/api/v1/sites/<slug>/history", methods=["GET"])
@requires(Feature.SERVER_LOGS)
def api_site_history(slug: str) -> Response:
    """The up, down and maintenance intervals of one site over a range.

    Query: ``from``, ``to`` -- ISO 8601 timestamps with a time zone (``Z`` or an
    offset); ``to`` defaults to now and ``from`` to 24 hours before ``to``.

    Answers ``{"site": {"id", "name"}, "from", "to", "requested": {"from", "to"},
    "now", "intervals": [{"state": "up"|"down"|"maintenance", "start", "end",
    "duration_seconds", "reason"}]}``. The intervals cover ``from``..``to`` exactly,
    in order; ``from``/``to`` are the range measured: not before the site was added
    and not after now (an open incident runs to now). Overlapping or duplicated
    incident records are merged into one interval; an outage while the site was in
    maintenance is a ``maintenance`` interval. 400 names a bad parameter; 404 for an
    unknown site.
    """
    session = get_session()
    site = find_site(session, slug)
    current = now()
    requested = time_range(request.args, current, HISTORY_DEFAULT_SPAN)
    start, end = effective_range(requested.start, requested.end, current, site.monitored_since)
    records = outage_records(session, site.slug, start, end) if start < end else []
    analysis = analyse(records, start, end, current, site.monitored_since)
    return jsonify(
        {
            "site": site_brief(site),
            **range_json(start, end, (requested.start, requested.end), current),
            "intervals": [segment_json(s) for s in analysis.segments],
        }
    )


@bp.route("/api/v1/sites/<slug>/uptime", methods=["GET"])
@requires(Feature.SERVER_LOGS)
def api_site_uptime(slug: str) -> Response:
    """Uptime figures of one site over a window ending now, or over ``from``..``to``.

    Query: ``window`` -- ``24h``, ``7d``, ``30d``, ``90d`` (any whole number of
    ``m``, ``h``, ``d`` or ``w``); or ``from``/``to`` as in the history endpoint.
    Default: the last 24 hours.

    Answers the site and range (as in the history endpoint) and ``window``,
    ``uptime_percent`` (up time / (range - maintenance) x 100; ``null`` when nothing
    was measured), ``incidents`` (outages overlapping the range; overlapping or
    duplicated records count once, outages during maintenance not at all),
    ``downtime_seconds``, ``maintenance_seconds`` (outages during maintenance: left
    out of the denominator), ``monitored_seconds``, ``mttr_seconds`` (mean in-range
    length of the outages, ``null`` without any), ``longest_outage_seconds``, and
    ``response_time_seconds``: ``{"p50", "p95", "p99"}`` of the probe duration from
    Prometheus (``UPWATCH_PROMETHEUS_URL``), or from the long-term store
    (``UPWATCH_LONG_TERM_URL``, VictoriaMetrics) when the range starts before
    Prometheus' retention (``UPWATCH_PROMETHEUS_RETENTION``, default 15d);
    ``response_time_source`` says which answered (``prometheus``, ``long_term``, or
    ``null`` when neither could). A long-term store that cannot be reached falls back
    to Prometheus; without one, an older range is read from Prometheus and
    ``warnings`` says older data may be missing. When no store can be reached or
    has no data the quantiles are ``null`` and ``warnings`` says why; the rest is
    answered all the same. 400 names a bad parameter; 404 for an unknown site.
    """
    session = get_session()
    site = find_site(session, slug)
    current = now()
    requested = time_range(request.args, current, UPTIME_DEFAULT_SPAN, allow_window=True)
    start, end = effective_range(requested.start, requested.end, current, site.monitored_since)
    records = outage_records(session, site.slug, start, end) if start < end else []
    analysis = analyse(records, start, end, current, site.monitored_since)
    assert analysis.summary is not None
    latency = latency_for_range(
        Stores.from_config(current_app.config), site.slug, start, end, current
    )
    return jsonify(
        {
            "site": site_brief(site),
            **range_json(start, end, (requested.start, requested.end), current),
            "window": requested.window,
            **summary_json(analysis.summary),
            "response_time_seconds": latency.quantiles,
            "response_time_source": latency.source,
            "warnings": latency.warnings,
        }
    )


@bp.route("/api/v1/incidents", methods=["GET"])
@requires(Feature.SERVER_LOGS)
def api_incidents() -> Response:
    """The incident log, newest first, a page at a time.

    Query (all optional): ``site`` -- a site id, repeatable (``site=a&site=b`` or
    ``site=a,b``); ``from``/``to`` -- ISO 8601, incidents overlapping that range;
    ``status`` -- ``open`` or ``closed``; ``limit`` -- 1..1000, default 100;
    ``cursor`` -- the ``next_cursor`` of the previous page.

    Answers ``{"incidents": [{"id", "site": {"id", "name"}, "alertname", "status",
    "started_at", "ended_at", "duration_seconds", "reason", "maintenance"}],
    "next_cursor"}``; ``next_cursor`` is ``null`` on the last page. The order
    (``started_at``, then ``id``, descending) is stable: incidents recorded while
    paging never make a page repeat or skip a row. An open incident's
    ``duration_seconds`` is its length so far. 400 names a bad parameter.
    """
    args = request.args
    slugs = site_params(args)
    current = now()
    start = timestamp_param(args, "from")
    end = timestamp_param(args, "to")
    if start is not None and end is not None and start >= end:
        raise InvalidParameter("from", "must be before to")
    status = choice_param(args, "status", ("open", "closed"))
    limit = int_param(args, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    raw_cursor = args.get("cursor")
    after = decode_cursor(raw_cursor) if raw_cursor is not None else None
    query = incident_page_query(slugs, start, end, status, after).limit(limit + 1)
    rows = get_session().execute(query).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1][0]
        next_cursor = encode_cursor(last.started_at, last.id)
    return jsonify(
        {
            "incidents": [incident_json(inc, name, current) for inc, name in page],
            "next_cursor": next_cursor,
        }
    )
