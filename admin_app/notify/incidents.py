"""The incident log: a ``SiteDown`` alert firing opens an incident, its resolve
closes it. Idempotent and safe with concurrent deliveries.

An incident is identified by the alert's fingerprint and the start of the outage
(unique in the table). Rules:

* **down**: an incident of the same fingerprint that is still open is the same
  outage (a retry, a repeat, or a start that moved because the exporter restarted
  mid-outage): it is kept as it is. Otherwise the incident with this fingerprint
  and start is looked up; if it exists it was already closed, so this is a late
  copy of the firing and nothing happens (nobody is paged about an outage that
  already ended). Otherwise a new incident is opened. Two requests inserting the
  same incident at once: the unique key lets one in, the other reads that row.
* **up**: the incident of this fingerprint and start, else the open one of this
  fingerprint, is closed with ``ended_at`` = the event's end (the exporter's time of
  the recovery when Prometheus could tell it, else the alert's ``endsAt``; see
  :mod:`admin_app.notify.recovery`). An incident
  that is already closed stays as it is. If none exists (the firing never reached
  the app), a closed incident is recorded, so that the outage is in the history.

``maintenance`` on the incident is the site's state when it opened: the alert's
``maintenance`` label, or the site's flag in the database (either one is enough).
Whether people are told (:attr:`Outcome.pages`) is decided here too: not when the
incident opened in maintenance, not while the site is in maintenance or paused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_app.models import Incident, Site
from admin_app.notify.payload import SiteEvent

OPENED = "opened"
EXISTING = "existing"  # down for an incident already open
STALE = "stale"  # down for an incident already closed
CLOSED = "closed"
ALREADY_CLOSED = "already_closed"
RECORDED_CLOSED = "recorded_closed"  # up with no incident: recorded closed

REASON_MAX = 200


@dataclass(frozen=True)
class Outcome:
    incident: Incident
    action: str
    pages: bool


def find_site(session: Session, slug: str) -> Site | None:
    return session.scalar(select(Site).where(Site.slug == slug))


def in_maintenance(event: SiteEvent, site: Site | None) -> bool:
    return bool(event.maintenance) or bool(site is not None and site.maintenance)


def _quiet(site: Site | None, event: SiteEvent) -> bool:
    """Nobody is told right now: maintenance (label or database) or a paused site."""
    return in_maintenance(event, site) or bool(site is not None and site.paused)


def _by_start(session: Session, fingerprint: str, started_at: datetime) -> Incident | None:
    return session.scalar(
        select(Incident)
        .where(Incident.fingerprint == fingerprint, Incident.started_at == started_at)
        .execution_options(populate_existing=True)
    )


def _open_one(session: Session, fingerprint: str) -> Incident | None:
    return session.scalar(
        select(Incident)
        .where(Incident.fingerprint == fingerprint, Incident.ended_at.is_(None))
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def _new(event: SiteEvent, site: Site | None, ended_at: datetime | None) -> Incident:
    return Incident(
        site_id=site.id if site is not None else None,
        site_slug=event.site,
        alertname=event.alertname or "SiteDown",
        started_at=event.started_at,
        ended_at=ended_at,
        reason=event.reason[:REASON_MAX],
        maintenance=in_maintenance(event, site),
        fingerprint=event.fingerprint,
    )


def _insert(session: Session, incident: Incident) -> Incident | None:
    """Insert and commit; None when a concurrent request inserted it first (the
    session is rolled back: callers commit their earlier work before)."""
    session.add(incident)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return incident


def record_down(session: Session, event: SiteEvent, site: Site | None) -> Outcome:
    session.commit()  # nothing of ours may be lost to a rollback below
    incident = _open_one(session, event.fingerprint)
    if incident is not None:
        if not incident.reason and event.reason:
            incident.reason = event.reason[:REASON_MAX]
            session.commit()
        return Outcome(incident, EXISTING, not incident.maintenance and not _quiet(site, event))
    incident = _by_start(session, event.fingerprint, event.started_at)
    if incident is not None:
        return Outcome(incident, STALE, False)
    created = _insert(session, _new(event, site, None))
    if created is None:
        incident = _by_start(session, event.fingerprint, event.started_at)
        assert incident is not None
        return Outcome(
            incident,
            EXISTING if incident.ended_at is None else STALE,
            incident.ended_at is None and not incident.maintenance and not _quiet(site, event),
        )
    return Outcome(created, OPENED, not created.maintenance and not _quiet(site, event))


def record_up(session: Session, event: SiteEvent, site: Site | None) -> Outcome:
    assert event.ended_at is not None
    session.commit()
    incident = _by_start(session, event.fingerprint, event.started_at) or _open_one(
        session, event.fingerprint
    )
    if incident is None:
        created = _insert(session, _new(event, site, event.ended_at))
        if created is not None:
            return Outcome(created, RECORDED_CLOSED, _pages_up(created, site, event))
        incident = _by_start(session, event.fingerprint, event.started_at)
        assert incident is not None
    if incident.ended_at is None:
        incident.ended_at = max(event.ended_at, incident.started_at)
        if not incident.reason and event.reason:
            incident.reason = event.reason[:REASON_MAX]
        session.commit()
        return Outcome(incident, CLOSED, _pages_up(incident, site, event))
    return Outcome(incident, ALREADY_CLOSED, _pages_up(incident, site, event))


def _pages_up(incident: Incident, site: Site | None, event: SiteEvent) -> bool:
    return not incident.maintenance and not _quiet(site, event)
