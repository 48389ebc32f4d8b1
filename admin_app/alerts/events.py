"""The alerts page's events: each incident of the log is a *down* event when it
started and an *up* event when it ended, each with the messages sent for it
(:class:`~admin_app.models.Notification` rows: who, by which channel, and what
became of it). Reading is one query for the incidents, one for their messages and
one for the names of the people told."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from admin_app.models import Contact, Incident, Notification, Site
from admin_app.notify.sms.base import mask_number, scrub

DOWN = "down"
UP = "up"

# A message's status as the page says it (channel, status) -> words.
STATUS_TEXT = {
    ("email", "routed"): "email routed",
    ("sms", "sent"): "SMS sent",
    ("sms", "failed"): "SMS failed",
    ("sms", "retry"): "SMS failed, retrying",
    ("sms", "sending"): "SMS sending",
    ("sms", "pending"): "SMS pending",
}
STATUS_CLASS = {"routed": "routed", "sent": "sent", "failed": "failed", "retry": "retry"}


@dataclass(frozen=True, slots=True)
class Told:
    """One message of an event."""

    channel: str  # sms | email
    who: str  # the contact's name, when the address is a contact's
    to: str  # the address, a phone number masked
    status: str  # sending | sent | failed | retry | routed | pending
    text: str  # the status as the page says it
    error: str = ""
    at: datetime | None = None
    attempts: int = 0
    provider: str = ""

    @property
    def css(self) -> str:
        return STATUS_CLASS.get(self.status, "sending")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: str  # down | up
    at: datetime
    site_slug: str
    site_name: str
    incident_id: int
    reason: str
    maintenance: bool
    down_for: timedelta | None  # up events: how long the site was down
    told: list[Told] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        """Nobody was paged: the outage began in maintenance."""
        return self.maintenance and not self.told


def status_text(channel: str, status: str) -> str:
    return STATUS_TEXT.get((channel, status), f"{channel} {status}")


def told_of(notification: Notification, names: dict[str, str]) -> Told:
    to = notification.recipient
    shown = mask_number(to) if notification.channel == "sms" else to
    return Told(
        channel=notification.channel,
        who=names.get(to.strip().lower(), ""),
        to=shown,
        status=notification.status,
        text=status_text(notification.channel, notification.status),
        error=scrub(notification.error or ""),
        at=notification.sent_at or notification.last_attempt_at or notification.created_at,
        attempts=notification.attempts,
        provider=notification.provider,
    )


def events_of(
    incident: Incident, site_name: str, names: dict[str, str], since: datetime | None
) -> list[AlertEvent]:
    """The down and (once it ended) up event of one incident, those at or after
    ``since``."""
    by_event: dict[str, list[Told]] = {DOWN: [], UP: []}
    for n in sorted(incident.notifications, key=lambda n: (n.created_at, n.id)):
        by_event.setdefault(n.event, []).append(told_of(n, names))
    common = {
        "site_slug": incident.site_slug,
        "site_name": site_name,
        "incident_id": incident.id,
        "reason": incident.reason,
        "maintenance": incident.maintenance,
    }
    out = []
    if since is None or incident.started_at >= since:
        out.append(
            AlertEvent(DOWN, incident.started_at, down_for=None, told=by_event[DOWN], **common)
        )
    if incident.ended_at is not None and (since is None or incident.ended_at >= since):
        out.append(
            AlertEvent(
                UP,
                incident.ended_at,
                down_for=incident.ended_at - incident.started_at,
                told=by_event[UP],
                **common,
            )
        )
    return out


def contact_names(session: Session, addresses: Iterable[str]) -> dict[str, str]:
    """Lower-cased email address or phone number -> the contact's name."""
    wanted = {a.strip().lower() for a in addresses if a}
    if not wanted:
        return {}
    names: dict[str, str] = {}
    query = select(Contact.name, Contact.email, Contact.phone).where(
        or_(func.lower(Contact.email).in_(wanted), Contact.phone.in_(wanted))
    )
    for name, email, phone in session.execute(query):
        for address in (email, phone):
            if address and address.strip().lower() in wanted:
                names.setdefault(address.strip().lower(), name)
    return names


def recent_events(
    session: Session,
    since: datetime,
    site: str | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[AlertEvent]:
    """Down and up events at or after ``since``, newest first (at most ``limit``)."""
    query = (
        select(Incident, Site.name)
        .outerjoin(Site, Site.id == Incident.site_id)
        .where(or_(Incident.started_at >= since, Incident.ended_at >= since))
        .options(selectinload(Incident.notifications))
        .order_by(Incident.started_at.desc(), Incident.id.desc())
    )
    if site:
        query = query.where(Incident.site_slug == site)
    rows = session.execute(query.limit(limit * 2)).all()
    addresses = {n.recipient for inc, _ in rows for n in inc.notifications}
    names = contact_names(session, addresses)
    events: list[AlertEvent] = []
    for incident, site_name in rows:
        events.extend(events_of(incident, site_name or incident.site_slug, names, since))
    if kind in (DOWN, UP):
        events = [e for e in events if e.kind == kind]
    events.sort(key=lambda e: (e.at, e.incident_id, e.kind == UP), reverse=True)
    return events[:limit]
