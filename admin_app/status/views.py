"""``/status``: every site with its live state, response time, uptime for 24 hours and
30 days and a 90-day bar; ``/status/events``: the live updates (server-sent events).

Flask config read (all optional): ``STATUS_CACHE_SECONDS`` (2: how long one
Prometheus answer serves every viewer of a process), ``STATUS_PROMETHEUS_TIMEOUT``
(2 s), ``STATUS_STREAM_SECONDS`` (60: a stream's lifetime before the browser
reconnects), ``STATUS_STREAM_POLL`` (1 s), ``STATUS_STREAM_HEARTBEAT`` (5 s: a browser gone is noticed at the next write),
``STATUS_STREAM_RESPONSE_SECONDS`` (15: response times are sent at most so often),
``STATUS_MAX_STREAMS`` (open streams per process; default 2, which leaves most of
gunicorn's ``--threads 4`` to ordinary requests; 0 for no limit).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template, request

from admin_app.db import get_session
from admin_app.history.params import now
from admin_app.rbac import has_feature, requires
from admin_app.roles import Feature
from admin_app.status import bp
from admin_app.status.bars import BAR_DAYS, format_duration, format_percent
from admin_app.status.board import STATES, board_for
from admin_app.status.events import StreamLimit, StreamSettings, stream
from admin_app.status.page import dashboard_page

LIMIT_KEY = "upwatch.status.streams"


def stream_settings(app: Flask) -> StreamSettings:
    cfg = app.config
    return StreamSettings(
        lifetime=float(cfg.get("STATUS_STREAM_SECONDS", 60.0)),
        poll=float(cfg.get("STATUS_STREAM_POLL", 1.0)),
        heartbeat=float(cfg.get("STATUS_STREAM_HEARTBEAT", 5.0)),
        max_streams=int(cfg.get("STATUS_MAX_STREAMS", 2)),
        response_every=float(cfg.get("STATUS_STREAM_RESPONSE_SECONDS", 15.0)),
    )


def stream_limit(app: Flask) -> StreamLimit:
    limit = app.extensions.get(LIMIT_KEY)
    if limit is None:
        limit = app.extensions.setdefault(LIMIT_KEY, StreamLimit(stream_settings(app).max_streams))
    return limit


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


@bp.route("/status")
@requires(Feature.REAL_TIME_STATUS)
def index() -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    snap = board_for(app).snapshot()
    query = request.args.get("q", "")
    state = request.args.get("state", "")
    page = dashboard_page(
        get_session(),
        snap,
        now(),
        query=query,
        state=state if state in STATES else "",
        page=_int_arg("page", 1),
    )
    from flask_login import current_user

    return render_template(
        "status/index.html",
        snap=snap,
        page=page,
        states=STATES,
        query=query,
        state=state if state in STATES else "",
        bar_days=BAR_DAYS,
        pct=format_percent,
        duration=format_duration,
        can_see_history=has_feature(current_user.role, Feature.SERVER_LOGS),
        prometheus_url=app.config.get("PROMETHEUS_URL") or "",
    )


@bp.route("/status/events")
@requires(Feature.REAL_TIME_STATUS)
def events() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body = stream(board_for(app), stream_settings(app), stream_limit(app))
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
