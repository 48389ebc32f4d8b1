"""History pages ("Server Logs"): ``/history`` (every site, the latest incidents) and
``/history/<id>``, one site's timeline, figures and incidents over a range. The
data is the history module's (the same as ``/api/v1/sites/<id>/history|uptime`` and
``/api/v1/incidents``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from admin_app.db import get_session
from admin_app.history.params import now
from admin_app.history.sources import Stores, latency_for_range
from admin_app.history.store import find_site, incident_page_query, outage_records
from admin_app.models import Incident, Site
from admin_app.rbac import requires
from admin_app.roles import Feature
from admin_app.status.bars import format_duration, format_percent
from admin_app.status.ranges import QUICK_WINDOWS, PageRange, RangeError, page_range
from admin_app.uptime import Segment, analyse, effective_range

bp = Blueprint("history_page", __name__)

TIMELINE_WIDTH = 1000.0
MIN_MARK = 1.5  # the narrowest outage drawn, in timeline units (of 1000)
MAX_INCIDENTS = 500
RECENT = 50


@dataclass(frozen=True, slots=True)
class Mark:
    """One segment of the timeline drawn as a rect."""

    state: str
    x: float
    width: float
    title: str


def timeline_marks(segments: list[Segment], start: datetime, end: datetime) -> list[Mark]:
    """Rects of the down/maintenance segments (the up ones are the background), over
    a width of :data:`TIMELINE_WIDTH`; even a short outage stays visible."""
    total = (end - start).total_seconds()
    if total <= 0:
        return []
    marks = []
    for seg in segments:
        x = (seg.start - start).total_seconds() / total * TIMELINE_WIDTH
        width = seg.duration.total_seconds() / total * TIMELINE_WIDTH
        title = (
            f"{seg.state} {_when(seg.start)} to {_when(seg.end)} ({format_duration(seg.duration)})"
            + (f": {seg.reason}" if seg.reason else "")
        )
        if seg.state != "up":
            width = max(width, MIN_MARK)
            x = min(x, TIMELINE_WIDTH - width)
        marks.append(Mark(seg.state, round(x, 3), round(width, 3), title))
    return marks


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def told_summary(incident: Incident) -> str:
    """``2 SMS sent, 1 email routed``: what became of the incident's messages."""
    counts: dict[str, int] = {}
    for n in incident.notifications:
        channel = "SMS" if n.channel == "sms" else n.channel
        key = f"{channel} {n.status}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))


@bp.route("/history")
@requires(Feature.SERVER_LOGS)
def index() -> str:
    session = get_session()
    open_counts = dict(
        session.execute(
            select(Incident.site_slug, func.count(Incident.id))
            .where(Incident.ended_at.is_(None))
            .group_by(Incident.site_slug)
        ).all()
    )
    sites = sorted(
        session.scalars(select(Site)), key=lambda s: ((s.name or s.slug).lower(), s.slug)
    )
    recent = session.execute(
        incident_page_query([], None, None, None, None)
        .options(selectinload(Incident.notifications))
        .limit(RECENT)
    ).all()
    return render_template(
        "history_page/index.html",
        sites=sites,
        open_counts=open_counts,
        recent=recent,
        now=now(),
        duration=format_duration,
        told=told_summary,
    )


@bp.route("/history/<slug>")
@requires(Feature.SERVER_LOGS)
def site(slug: str) -> tuple[str, int]:
    session = get_session()
    ref = find_site(session, slug)  # 404 for an unknown site
    current = now()
    error = None
    try:
        rng = page_range(request.args, current, "24h")
    except RangeError as exc:
        error = str(exc)
        rng = page_range({}, current, "24h")
    start, end = effective_range(rng.start, rng.end, current, ref.monitored_since)
    records = outage_records(session, ref.slug, start, end) if start < end else []
    analysis = analyse(records, start, end, current, ref.monitored_since)
    summary = analysis.summary
    assert summary is not None
    incidents = session.execute(
        incident_page_query([ref.slug], rng.start, rng.end, None, None)
        .options(selectinload(Incident.notifications))
        .limit(MAX_INCIDENTS + 1)
    ).all()
    latency = None
    if start < end:
        latency = latency_for_range(
            Stores.from_config(current_app.config), ref.slug, start, end, current
        )
    page = render_template(
        "history_page/site.html",
        site=ref,
        db_site=session.scalar(select(Site).where(Site.slug == ref.slug)),
        rng=rng,
        measured=(start, end),
        error=error,
        summary=summary,
        segments=analysis.segments,
        marks=timeline_marks(analysis.segments, start, end),
        timeline_width=TIMELINE_WIDTH,
        incidents=incidents[:MAX_INCIDENTS],
        more_incidents=len(incidents) > MAX_INCIDENTS,
        latency=latency,
        quick=QUICK_WINDOWS,
        now=current,
        pct=format_percent,
        duration=format_duration,
        when=_when,
        told=told_summary,
    )
    return page, 400 if error else 200


__all__ = ["PageRange", "bp", "timeline_marks", "told_summary"]
