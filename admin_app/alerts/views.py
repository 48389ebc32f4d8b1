"""``GET /alerts?days=7&site=<id>&kind=down|up``: the recent events, newest first."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from sqlalchemy import select

from admin_app.alerts import bp
from admin_app.alerts.events import DOWN, UP, recent_events
from admin_app.db import get_session
from admin_app.history.params import now
from admin_app.models import Site
from admin_app.rbac import requires
from admin_app.roles import Feature
from admin_app.status.bars import format_duration

DAY_CHOICES = (1, 7, 30, 90)
DEFAULT_DAYS = 7
LIMIT = 200


@bp.route("/alerts")
@requires(Feature.ALERTS)
def index() -> str:
    try:
        days = int(request.args.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    days = min(max(days, 1), 366)
    site = (request.args.get("site") or "").strip() or None
    kind = request.args.get("kind") if request.args.get("kind") in (DOWN, UP) else None
    session = get_session()
    current = now()
    events = recent_events(session, current - timedelta(days=days), site, kind, LIMIT)
    sites = session.execute(select(Site.slug, Site.name).order_by(Site.slug)).all()
    return render_template(
        "alerts/index.html",
        events=events,
        days=days,
        day_choices=DAY_CHOICES,
        site=site,
        kind=kind,
        sites=sites,
        limit=LIMIT,
        duration=format_duration,
    )
